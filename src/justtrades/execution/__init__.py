"""The trading core: signal parsing, settings, planning (pure); queue, workers, executor."""
