"""Per-track and per-chunk descriptors from one pass over a decoded track.

`TrackFrames.compute` does all the signal work once per track (K-weighted loudness grid at the native
rate; at 22.05 kHz mono one STFT for onsets, centroid and tempo, and a coarse-hop CQT for chroma).
`TrackFrames.describe(start_s, end_s)` then only sums frame ranges, so describing every chunk of a
track costs a few milliseconds more than describing the track.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from mixdesk.analysis.loudness import LoudnessGrid
from mixdesk.analysis.tempo import estimate_tempo
from mixdesk.analysis.tonal import estimate_key, key_to_camelot

ANALYSIS_SR = 22050
HOP = 512
N_FFT = 2048
N_MELS = 128
CHROMA_HOP = 2048
KEY_PROFILE = "krumhansl"
MIN_TEMPO_SLICE_S = 4.0
CHUNK_PRIOR_OCTAVES = 0.3
DESCRIPTOR_KEYS = ("bpm", "bpm_confidence", "key", "camelot", "lufs", "lra", "rms_db", "centroid_hz", "onset_rate")


def _stft_magnitude(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    import librosa

    if len(y) < n_fft:  # a clip shorter than one window: zero-padding adds no energy
        y = np.pad(y, (0, n_fft - len(y)))
    return np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, center=True))


def _chroma(y: np.ndarray, sr: int) -> np.ndarray:
    """(12, frames) chroma, C first, from a constant-Q transform with tuning estimation.

    At a hop of 2048 samples the CQT costs about 3 ms per second of audio; on the demo tracks it
    found 4/4 keys where STFT chroma found 3/4 (both 24/24 on synthesised cadences).
    """
    import librosa

    min_len = 4 * CHROMA_HOP
    if len(y) < min_len:  # the lowest CQT filters are longer than a very short clip
        y = np.pad(y, (0, min_len - len(y)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_fft too large" for the longest filters on short chunks
        return librosa.feature.chroma_cqt(y=y, sr=sr, hop_length=CHROMA_HOP)


@dataclass(frozen=True)
class TrackFrames:
    """Frame-level features of one track; `describe` aggregates any time slice of it."""

    duration_s: float
    loudness: LoudnessGrid
    onset_env: np.ndarray
    onset_frames: np.ndarray
    centroid_num: np.ndarray
    centroid_den: np.ndarray
    chroma: np.ndarray

    @classmethod
    def compute(cls, samples: np.ndarray, sample_rate: int) -> "TrackFrames":
        """`samples`: (frames, channels) or 1-D float at `sample_rate` (loudness uses all channels)."""
        import librosa

        from mixdesk.core.audio import resample

        x = np.asarray(samples, dtype=np.float32)
        x2 = x if x.ndim == 2 else x[:, None]
        loudness = LoudnessGrid.from_samples(x2, sample_rate)
        mono = x2.mean(axis=1) if x2.shape[1] > 1 else x2[:, 0]
        y = resample(mono, sample_rate, ANALYSIS_SR) if sample_rate != ANALYSIS_SR else mono
        y = np.ascontiguousarray(y, dtype=np.float32)
        magnitude = _stft_magnitude(y, N_FFT, HOP)
        power = magnitude**2
        mel = librosa.feature.melspectrogram(S=power, sr=ANALYSIS_SR, n_mels=N_MELS)
        env = librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=ANALYSIS_SR, hop_length=HOP)
        onsets = librosa.onset.onset_detect(onset_envelope=env, sr=ANALYSIS_SR, hop_length=HOP)
        freqs = librosa.fft_frequencies(sr=ANALYSIS_SR, n_fft=N_FFT)
        return cls(
            duration_s=x2.shape[0] / float(sample_rate),
            loudness=loudness,
            onset_env=env.astype(np.float32),
            onset_frames=np.asarray(onsets, dtype=np.int64),
            centroid_num=(freqs @ magnitude).astype(np.float64),
            centroid_den=magnitude.sum(axis=0).astype(np.float64),
            chroma=_chroma(y, ANALYSIS_SR).astype(np.float32),
        )

    def _frames(self, start_s: float, end_s: float, hop: int, n: int) -> slice:
        rate = ANALYSIS_SR / hop
        first = min(max(int(round(start_s * rate)), 0), max(n - 1, 0))
        return slice(first, max(first + 1, min(n, int(round(end_s * rate)))))

    def tempo(self, start_s: float, end_s: float, prior_bpm: float | None = None) -> tuple[float, float]:
        env = self.onset_env[self._frames(start_s, end_s, HOP, len(self.onset_env))]
        if prior_bpm:
            return estimate_tempo(env, ANALYSIS_SR / HOP, prior_bpm, CHUNK_PRIOR_OCTAVES, preferred=None)
        return estimate_tempo(env, ANALYSIS_SR / HOP)

    def describe(self, start_s: float = 0.0, end_s: float | None = None, track: dict | None = None) -> dict:
        """Descriptor dict of [start_s, end_s); pass the track's own descriptors when describing a chunk.

        A chunk shorter than MIN_TEMPO_SLICE_S holds too few beats for its own tempo estimate and
        inherits the track's tempo (at half its confidence); longer chunks are estimated with a prior
        centred on the track's tempo so that half/double-time choices agree within a track.
        """
        end_s = self.duration_s if end_s is None else min(end_s, self.duration_s)
        length = max(end_s - start_s, 1e-6)
        track_bpm = (track or {}).get("bpm") or None
        if track is not None and (length < MIN_TEMPO_SLICE_S or not track_bpm):
            bpm, confidence = float(track.get("bpm") or 0.0), 0.5 * float(track.get("bpm_confidence") or 0.0)
        else:
            bpm, confidence = self.tempo(start_s, end_s, track_bpm)
        chroma = self.chroma[:, self._frames(start_s, end_s, CHROMA_HOP, self.chroma.shape[1])].sum(axis=1)
        key, key_confidence = estimate_key(chroma, KEY_PROFILE)
        cols = self._frames(start_s, end_s, HOP, len(self.centroid_den))
        den = self.centroid_den[cols].sum()
        onset_times = self.onset_frames * HOP / ANALYSIS_SR
        n_onsets = int(((onset_times >= start_s) & (onset_times < end_s)).sum())
        return {
            "bpm": round(float(bpm), 2),
            "bpm_confidence": round(float(confidence), 3),
            "key": key,
            "camelot": key_to_camelot(key),
            "key_confidence": round(float(key_confidence), 3),
            "lufs": round(self.loudness.integrated_lufs(start_s, end_s), 2),
            "lra": round(self.loudness.lra(start_s, end_s), 2),
            "rms_db": round(self.loudness.rms_db(start_s, end_s), 2),
            "centroid_hz": round(float(self.centroid_num[cols].sum() / den) if den > 1e-9 else 0.0, 1),
            "onset_rate": round(n_onsets / length, 3),
        }


def describe_track(
    samples: np.ndarray, sample_rate: int, chunk_ranges_ms: list[tuple[int, int]] | None = None
) -> tuple[dict, list[dict]]:
    """(track descriptors, one descriptor dict per chunk range) from one pass over the samples."""
    frames = TrackFrames.compute(samples, sample_rate)
    track = frames.describe()
    chunks = [frames.describe(s / 1000.0, e / 1000.0, track=track) for s, e in (chunk_ranges_ms or [])]
    return track, chunks


def is_finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
