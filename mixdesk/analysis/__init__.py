"""Musical analysis of tracks and chunks: what a DJ reads before choosing the next record.

- ``project_analysis``: ``analyse_project`` fills a project's "descriptors" and "tags" per track and
  chunk from two block-wise reads per track (memory flat with its length); ``analyse_file`` for
  single files; readers and ``chunk_descriptor_vectors`` (the transition model's optional descriptor input).
- ``descriptors``: tempo, key/Camelot, LUFS, loudness range, RMS, spectral centroid, onset rate.
- ``blocks``: audio as blocks (from arrays or files) and the block-wise resampler and STFT framing.
- ``compat``: tempo and key compatibility (``tempo_ratio_ok``, ``camelot_distance``,
  ``key_compatible``), a chunk's tempo and key inherited from its track (``chunk_tempo_key``), and
  filters for the sequencer and the suggestion list.
- ``tagger``: the musicnn genre/mood taggers (MSD and MagnaTagATune) ported to torch.
- ``genre_data`` / ``genre_models``: a genre classifier trained on the user's own labels
  (CNN, bidirectional LSTM, PCA + kNN baseline), evaluated on held-out tracks.
- ``options``: tagger and genre-model names and the analysis defaults, without torch (for the command line).
"""
