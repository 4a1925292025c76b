"""Kill-and-resume check of a real training job on whatever device is present (the GPU counterpart of
tests/test_resume.py, which asserts bit-identical weights on CPU).

Runs the same target fine-tune three times in fresh processes: uninterrupted; interrupted by SIGUSR1 (what SLURM
sends before a time limit, ``--signal=B:USR1@…``) at step ``--kill-at``; and the rerun that resumes from the
checkpoint. Prints the resumed step, wall times, the validation metric of both runs and the largest weight difference.
On GPU, bf16 autocast and non-deterministic CUDA kernels may make the weights differ in the last bits; the metric
must agree. Last line: ``resume_max_abs_diff <x>``.

    python bench/resume_check.py [--hidden 512 --layers 6 --steps 300 --kill-at 170]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--examples", type=int, default=4800)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--kill-at", type=int, default=170)
    ap.add_argument("--checkpoint-every", type=int, default=100)
    a = ap.parse_args()

    import torch
    from safetensors.torch import load_file
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from finetune_fixtures import SPEC, pair_data, sentence
    from xstilts.features import featurize_split
    from xstilts.pretrain import train_tokenizer

    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        import random

        rng = random.Random(0)
        tok = train_tokenizer([sentence(rng, 12) for _ in range(500)], 200, d / "tok")
        cfg = XLMRobertaConfig(vocab_size=len(tok), hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=max(1, a.hidden // 64),
                               intermediate_size=4 * a.hidden, max_position_embeddings=66, pad_token_id=tok.pad_token_id, type_vocab_size=1)
        torch.manual_seed(0)
        XLMRobertaModel(cfg).save_pretrained(d / "base")
        tok.save_pretrained(d / "base")
        train = pair_data(d / "train.parquet", a.examples, 1)
        valid = pair_data(d / "valid.parquet", 500, 2)
        featurize_split(train, d / "base", SPEC, d / "feats.parquet")
        hp = {"learning_rate": 1e-4, "epochs": 2, "batch_size": a.batch_size}

        def job(name: str, kill: bool) -> tuple[int, float, str]:
            code = f"""
                import os, signal
                from xstilts import finetune as F, training as T
                from xstilts.device import setup_job
                if {kill}:
                    orig = T.StopOnSignal.on_step_end
                    def on_step_end(self, args, state, control, **kw):
                        if state.global_step == {a.kill_at}:
                            os.kill(os.getpid(), signal.SIGUSR1)
                        return orig(self, args, state, control, **kw)
                    T.StopOnSignal.on_step_end = on_step_end
                setup_job(8, 7)
                F.run_target({str(d / 'base')!r}, {str(d / 'feats.parquet')!r}, T.HParams.from_dict({hp!r}), {str(valid)!r},
                             {str(d / name / 'model')!r}, {str(d / name / 'metrics.json')!r}, 7, ckpt_dir={str(d / name / 'ckpt')!r},
                             runtime=T.Runtime(checkpoint_every={a.checkpoint_every}, threads=8))
            """
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False)
            return r.returncode, time.perf_counter() - t0, r.stderr[-2000:]

        rc_full, t_full, err = job("full", False)
        assert rc_full == 0, err
        rc_kill, t_kill, err = job("resumed", True)
        assert rc_kill == 128 + 10, (rc_kill, err)  # SIGUSR1 = 10 on Linux
        rc_res, t_res, err = job("resumed", False)
        assert rc_res == 0, err
        m_full = json.loads((d / "full/metrics.json").read_text())
        m_res = json.loads((d / "resumed/metrics.json").read_text())
        wf, wr = load_file(d / "full/model/model.safetensors"), load_file(d / "resumed/model/model.safetensors")
        diff = max(float((wf[k].float() - wr[k].float()).abs().max()) for k in wf)
    dev = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"# device: {dev}; model {a.layers} x {a.hidden}; {m_full['train']['optimizer_steps']} steps; SIGUSR1 at step {a.kill_at}, "
          f"checkpoint every {a.checkpoint_every}")
    print(f"uninterrupted: {t_full:.1f} s, accuracy {m_full['validation_en']['accuracy']:.4f}, train loss {m_full['train']['train_loss']:.6f}")
    print(f"interrupted  : {t_kill:.1f} s (exit {rc_kill}); resumed from step {m_res['train']['resumed_from_step']} in {t_res:.1f} s, "
          f"accuracy {m_res['validation_en']['accuracy']:.4f}, train loss {m_res['train']['train_loss']:.6f}")
    print(f"resume_max_abs_diff {diff:.3g}")


if __name__ == "__main__":
    main()
