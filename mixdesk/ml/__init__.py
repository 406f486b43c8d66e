"""The transition model: which chunk may follow which (torch only, no Qt).

Data flows down this list:
  features    log-mel of each chunk's start and end windows (plain torch, torchaudio-equal), cached
              on disk per chunk in ``project.cache_dir / "features"``
  table       FeatureTable: the features of many chunks stacked into tensors; built from a Project
              or from in-memory arrays (ArraySource)
  pairs       PairData: positives, four kinds of negatives, split by track into train/val/test
  models      cnn_lstm (default) and the seed network's port, both split into per-chunk encodings
              and a per-pair seam
  training    fit(TrainConfig, PairData, on_progress, should_stop) -> FitResult; checkpoints that
              rebuild the model alone (checkpoint.load_model)
  scoring     what a scorer is (no torch): Scorer, the whole interface; ScorerBase, the base class that
              gives its optional methods defaults; as_scorer completes a partial one
  ranking     TransitionScorer (cached encodings, fast pools) and rank_successors
  baselines   SimilarityScorer and RandomScorer: what a model must beat
  evaluation  evaluate(model_path, project): held-out pair and ranking metrics beside both baselines
  pipeline    train_on_project: the one call the desk and ``mixdesk train`` share
  experiments research questions 2 and 3 (chunking, genre): variants trained and held out on the same tracks
  experiment_metadata  research question 4: do descriptor inputs (tempo, key, loudness, tags) help?
"""
