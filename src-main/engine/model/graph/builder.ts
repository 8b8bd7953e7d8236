/**
 * Building an ONNX graph from a network's weights: nodes named after the module path they come from
 * (`down_blocks.0.resnets.1/Conv`), initializers named and shaped as in the state dict, each checked
 * against the shape the config implies, so a weights file that does not fit its config fails here, by name.
 */
import { EngineError } from '../../errors'
import { float32Of, numel, type Weights } from '../weights/tensor'
import type { OnnxAttr, OnnxInitializer, OnnxNode } from './onnx-graph'

export class GraphBuilder {
  readonly nodes: OnnxNode[] = []
  readonly initializers: OnnxInitializer[] = []
  readonly #used = new Set<string>()
  readonly #constants = new Map<string, string>()
  #count = 0

  /** Without weights, the builder records the shape each weight would have (stateDictShapes). */
  readonly shapes = new Map<string, number[]>()

  /** `describe` names the file the weights came from and the config that shaped them, for errors. */
  constructor(
    readonly weights: Weights | undefined,
    readonly describe: { weights: string; config: string },
  ) {}

  /**
   * The weight `name` as an initializer, float32, checked to have the shape the config implies;
   * `dims` declares it with another shape of the same values ([C] as [C, 1, 1] to broadcast over H, W).
   */
  param(name: string, expected: number[], dims: number[] = expected): string {
    if (!this.weights) {
      this.shapes.set(name, expected)
      return name
    }
    const t = this.weights.get(name)
    if (!t)
      throw new EngineError(
        'bad-weights',
        `${this.describe.weights}: no weight ${name}, which ${this.describe.config} implies (weights of another model?)`,
      )
    if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i]))
      throw new EngineError(
        'bad-weights',
        `${this.describe.weights}: ${name} is [${t.shape.join(', ')}]; ${this.describe.config} implies [${expected.join(', ')}]`,
      )
    if (!this.#used.has(name)) {
      this.#used.add(name)
      // Read when the graph is written: a weights file on disk is then read one tensor at a time.
      this.initializers.push({ name, dims, data: () => float32Of(t, `${this.describe.weights}: ${name}`) })
    }
    return name
  }

  /** Weights no part of the graph used. */
  unused(): string[] {
    return [...(this.weights?.keys() ?? [])].filter((k) => !this.#used.has(k))
  }

  /** A float32 constant (shared by value). */
  floats(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    return this.#constant(Float32Array.from(values), dims, 'f')
  }

  /** An int64 constant (shapes, axes, split sizes; shared by value). */
  ints(values: number[]): string {
    return this.#constant(BigInt64Array.from(values.map(BigInt)), [values.length], 'i')
  }

  #constant(data: Float32Array | BigInt64Array, dims: number[], kind: string): string {
    if (numel(dims) !== data.length) throw new Error(`constant of ${data.length} values declared [${dims}]`)
    const key = `${kind}[${dims}]:${Array.from(data as ArrayLike<number | bigint>).join(',')}`
    let name = this.#constants.get(key)
    if (!name) {
      name = `const_${this.#constants.size}`
      this.#constants.set(key, name)
      this.initializers.push({ name, dims, data })
    }
    return name
  }

  /** One node with one output, named in `scope` (the module path). */
  op(scope: string, op: string, inputs: string[], attrs?: Record<string, OnnxAttr>): string {
    return this.opN(scope, op, inputs, 1, attrs)[0]
  }

  opN(scope: string, op: string, inputs: string[], outputs: number, attrs?: Record<string, OnnxAttr>): string[] {
    const name = `${scope}/${op}_${this.#count++}`
    const names = Array.from({ length: outputs }, (_, k) => (outputs === 1 ? name : `${name}:${k}`))
    this.nodes.push({ op, inputs, outputs: names, attrs, name })
    return names
  }

  /** Name the value `from` as the graph output `as`. */
  output(from: string, as: string): void {
    this.nodes.push({ op: 'Identity', inputs: [from], outputs: [as], name: as })
  }
}
