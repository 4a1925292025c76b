"""xstilts: library behind the Snakemake workflow reproducing X-STILTs (Phang et al. 2020) and relating
morphological complexity to the change in cross-lingual alignment after English intermediate-task training."""

__version__ = "0.1.0"
