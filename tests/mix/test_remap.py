"""After a re-cut, playlist items follow their audio onto the new chunks, or are reported gone."""

from __future__ import annotations

from dataclasses import dataclass

from mixdesk.mix.playlist import Playlist, PlaylistItem, Transition
from mixdesk.mix.remap import remap_playlist


@dataclass(frozen=True)
class Chunk:
    id: int
    track_id: int
    start_ms: int
    end_ms: int


def item(chunk_id, track_id, in_ms, out_ms, score=0.5):
    return PlaylistItem(
        chunk_id=chunk_id,
        track_id=track_id,
        source_path=f"/t{track_id}.wav",
        in_ms=in_ms,
        out_ms=out_ms,
        transition=Transition("crossfade", 300),
        score=score,
        locked=True,
    )


def test_items_on_removed_chunks_move_to_the_chunk_sharing_most_audio():
    playlist = Playlist((item(1, 1, 0, 4000, None), item(7, 2, 2000, 6000), item(3, 1, 8000, 12000)))
    # Track 1 re-cut (ids 1-3 gone); track 2 untouched.
    chunks = [Chunk(10, 1, 0, 3000), Chunk(11, 1, 3000, 9000), Chunk(12, 1, 9000, 12000), Chunk(7, 2, 2000, 6000)]
    remap = remap_playlist(playlist, chunks)
    got = remap.playlist.items
    assert [i.chunk_id for i in got] == [10, 7, 12]  # 3000 ms shared beats 1000; 3000 beats 1000
    assert (got[0].in_ms, got[0].out_ms) == (0, 3000) and (got[2].in_ms, got[2].out_ms) == (9000, 12000)
    assert remap.moved == (0, 2) and remap.gone == ()
    assert got[0].locked and got[0].transition == Transition("crossfade", 300)
    assert got[1] == playlist.items[1].with_(score=None)  # its predecessor is a new chunk: score unknown
    assert got[2].score is None
    assert "2 playlist items moved" in remap.summary()


def test_item_without_any_covering_chunk_is_kept_and_reported_gone():
    playlist = Playlist((item(5, 1, 0, 2000), item(6, 1, 4000, 5000), item(9, 3, 0, 1000)))
    chunks = [Chunk(20, 1, 0, 3000)]  # 4-5 s is silence now; track 3 was removed
    remap = remap_playlist(playlist, chunks)
    assert [i.chunk_id for i in remap.playlist.items] == [20, 6, 9]
    assert remap.moved == (0,) and remap.gone == (1, 2)
    assert "chunk gone for items 2, 3" in remap.summary()


def test_untouched_playlist_is_returned_as_is():
    playlist = Playlist((item(1, 1, 0, 1000),))
    remap = remap_playlist(playlist, [Chunk(1, 1, 0, 1000)])
    assert remap.playlist is playlist and not remap.changed and remap.summary() == ""
