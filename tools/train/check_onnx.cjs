// Runs the exported ONNX with onnxruntime-node on the reference input written by
// export.py and prints the max abs difference to the PyTorch output.
// usage: node tools/train/check_onnx.cjs MODEL.onnx REF_DIR
const ort = require('onnxruntime-node');
const fs = require('fs');
const path = require('path');
(async () => {
  const [model, ref] = process.argv.slice(2);
  const rd = (f, T) => { const b = fs.readFileSync(path.join(ref, f)); return new T(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)); };
  const x = rd('x.bin', Float32Array), t = rd('t.bin', BigInt64Array), c = rd('c.bin', BigInt64Array), y = rd('y.bin', Float32Array);
  const B = t.length;
  const s = await ort.InferenceSession.create(model);
  const out = await s.run({
    sample: new ort.Tensor('float32', x, [B, 1, 28, 28]),
    timestep: new ort.Tensor('int64', t, [B]),
    class_labels: new ort.Tensor('int64', c, [B]),
  });
  const o = out.out_sample;
  let m = 0;
  for (let i = 0; i < y.length; i++) m = Math.max(m, Math.abs(o.data[i] - y[i]));
  console.log(`onnxruntime-node: inputs ${s.inputNames} outputs ${s.outputNames} dims [${o.dims}] max|onnx-torch| = ${m.toExponential(3)} ${m < 1e-4 ? 'OK' : 'MISMATCH'}`);
  process.exit(m < 1e-4 ? 0 : 1);
})().catch(e => { console.error(e); process.exit(2); });
