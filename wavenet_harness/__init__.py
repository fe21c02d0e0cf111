"""wavenet-harness: run and tune the models of makemore part 5 (building a WaveNet)."""

__version__ = "0.1.0"
