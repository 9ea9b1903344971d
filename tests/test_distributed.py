"""torchrun with 2 CPU processes (gloo): one set of artifacts, the whole test set scored once,
and every rank computing the same metrics."""
import json
import os
import subprocess
import sys

import pandas as pd

from conftest import ROOT, rain_table
from run import main

FLAGS = ["--group_col", "region", "--target_from", "tp_mm", "--rain_threshold", "0.5", "--seq_len", "8",
         "--input_token_len", "4", "--e_layers", "1", "--d_model", "16", "--d_ff", "32", "--n_heads", "2",
         "--batch_size", "16", "--train_epochs", "3", "--model_id", "ddp"]


def test_two_process_gloo_run_matches_single_process_bookkeeping(tmp_path):
    rain_table(n_rows=203).to_csv(tmp_path / "rain.csv", index=False)  # odd counts: shards are uneven
    data = ["--root_path", str(tmp_path), "--data_path", "rain.csv"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(ROOT / "run.py"),
         *data, *FLAGS, "--checkpoints", str(tmp_path / "ddp")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert main([*data, *FLAGS, "--checkpoints", str(tmp_path / "single")]) == 0

    (ddp_dir,) = [p for p in (tmp_path / "ddp").iterdir() if p.is_dir()]
    (single_dir,) = [p for p in (tmp_path / "single").iterdir() if p.is_dir()]
    ddp, single = (json.loads((d / "metrics.json").read_text()) for d in (ddp_dir, single_dir))
    assert ddp["n"] == single["n"] and sum(map(sum, ddp["confusion_matrix"])) == single["n"]
    assert ddp["distributed"] == {"world_size": 2, "ranks_agree": True, "batch_size_per_process": 16,
                                  "global_batch": 32}
    assert len(pd.read_csv(ddp_dir / "predictions.csv")) == single["n"]
    assert len(pd.read_csv(tmp_path / "ddp" / "summary.csv")) == 1          # one set of artifacts
    assert result.stdout.count("run folder:") == 1                          # only rank 0 speaks
    assert ddp_dir.name == single_dir.name
    state_keys = __import__("torch").load(ddp_dir / "checkpoint.pth", weights_only=True).keys()
    assert not any(k.startswith("module.") for k in state_keys)
