"""Stepwise digits: one command to build the default model.

  /usr/bin/python3 tools/train/train.py all --until 00:45
  subcommands: data | train | export | classifier | eval | card | all
  and: accuracy --cli-args "--sampler unipc --steps 10" (classifier accuracy of CLI samples; a JSON line)
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cmd", choices=["data", "train", "export", "classifier", "eval", "card", "all", "accuracy"])
    p.add_argument("--until", help="stop training at this UTC wall-clock time HH:MM")
    p.add_argument("--max-minutes", type=float, help="stop training after this many minutes")
    p.add_argument("--max-steps", type=int, default=100000)
    p.add_argument("--batch", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--lr-schedule", choices=["constant", "cosine"], help="train: after the warm-up (cosine: to 0 at --max-steps)")
    p.add_argument("--warmup", type=int, help="train: warm-up steps")
    p.add_argument("--ema-decay", type=float)
    p.add_argument("--init-onnx", help="train: go on from the weights and step count of an exported model")
    p.add_argument("--sampler", choices=["torch", "cli"], default="torch", help="eval sampler")
    p.add_argument("--per-class", type=int, default=100, help="eval samples per class")
    p.add_argument("--clip-sample", choices=["true", "false"],
                   help="eval --sampler torch: clip predicted x0 (default: as in the exported metadata)")
    p.add_argument("--ckpt", help="checkpoint to export/evaluate (default .work/ckpt.pt)")
    p.add_argument("--out", help="export path (default resources/models/stepwise-digits.onnx)")
    p.add_argument("--cli-args", default="--sampler ddim --steps 50",
                   help="accuracy: the Stepwise CLI's sampler flags for the samples")
    a = p.parse_args()
    if a.cmd in ("data", "all"):
        import data
        data.make_dataset()
    if a.cmd in ("train", "all"):
        import trainer
        trainer.train(max_steps=a.max_steps, until=a.until, max_minutes=a.max_minutes,
                      batch=a.batch, lr=a.lr, lr_schedule=a.lr_schedule, warmup=a.warmup,
                      ema_decay=a.ema_decay, init_onnx=a.init_onnx)
    if a.cmd in ("export", "all"):
        import export
        export.export(ckpt=a.ckpt, out=a.out)
    if a.cmd in ("classifier", "all"):
        import classifier
        classifier.train_classifier()
    if a.cmd in ("eval", "all"):
        import evaluate
        import diffusion
        clip = diffusion.CLIP_SAMPLE if a.clip_sample is None else a.clip_sample == "true"
        evaluate.evaluate(sampler=a.sampler, per_class=a.per_class, ckpt=a.ckpt, clip_sample=clip,
                          tag=None if clip == diffusion.CLIP_SAMPLE else f"{a.sampler}_clip{a.clip_sample}",
                          grid=clip == diffusion.CLIP_SAMPLE)
    if a.cmd == "accuracy":
        import json
        import evaluate
        print(json.dumps(evaluate.accuracy_cli(a.cli_args.split(), per_class=a.per_class)))
    if a.cmd in ("card", "all"):
        import card
        card.write_card()


if __name__ == "__main__":
    main()
