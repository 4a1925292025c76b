"""Adapter: write the synthetic world where the layout puts every table (xstilts.synthetic)."""
from pathlib import Path

from xstilts.logs import to_file
from xstilts.plan import Layout
from xstilts.synthetic import WorldConfig, generate_world

to_file(snakemake.log[0])
generate_world(WorldConfig.from_dict(snakemake.params.world), Layout(snakemake.params.root))
missing = [p for p in snakemake.output if not Path(p).exists()]
if missing:
    raise RuntimeError(f"the generator did not write {missing}")
