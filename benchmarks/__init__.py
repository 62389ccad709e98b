"""Side-by-side benchmarks of ganzoo's engine against plain reference training loops (`python benchmarks/run.py`)."""
