/**
 * Uploads (src-main/host/uploads.ts): each file and all of a host's uploads together are bounded, the page
 * sees names relative to the upload folder, and the folders of hosts that died are removed at start.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterEach, describe, expect, it } from 'vitest'

import { createUploads, type UploadOptions, type Uploads } from '../../../src-main/host/uploads'

const opened: { uploads: Uploads; close: () => void }[] = []

afterEach(async () => {
  for (const { uploads, close } of opened.splice(0)) {
    close()
    await uploads.remove()
  }
})

/** The uploads behind a bare HTTP server (no token: that is the host's part), and a PUT to it. */
async function serve(options: UploadOptions) {
  const uploads = await createUploads({ parentDir: mkdtempSync(join(tmpdir(), 'stepwise-uploads-test-')), ...options })
  const server = createServer((req, res) => void uploads.receive(req, res, (req.url ?? '').slice('/upload/'.length)))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  opened.push({ uploads, close: () => server.close() })
  const port = (server.address() as AddressInfo).port
  const put = (path: string, chunks: string[], headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'PUT', path, headers }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on('error', () => resolve({ status: -1, body: '' })) // the server may hang up mid-body
      for (const c of chunks) req.write(c)
      req.end()
    })
  return { uploads, put }
}

describe('uploads past the size limit', () => {
  it('are refused, whether the size is declared or only streamed, and leave no file behind', async () => {
    const { uploads, put } = await serve({ maxBytes: 10 })
    const declared = await put('/upload/b/declared.onnx', ['x'.repeat(11)], { 'content-length': '11' })
    expect(declared.status).toBe(413)
    expect(JSON.parse(declared.body).error).toBe('upload refused: larger than 10 bytes, the most one file may be')
    const streamed = await put('/upload/b/streamed.onnx', ['x'.repeat(6), 'x'.repeat(6)], {
      'transfer-encoding': 'chunked',
    })
    expect([413, -1]).toContain(streamed.status)
    expect((await put('/upload/b/fits.onnx', ['x'.repeat(10)])).status).toBe(201)
    await expect.poll(() => readdirSync(join(uploads.root, 'b'))).toEqual(['fits.onnx'])
    expect(uploads.usedBytes()).toBe(10)
  })
})

describe('the quota of all uploads together', () => {
  it('refuses what would pass it, declared or streamed, and counts only what was kept', async () => {
    const { uploads, put } = await serve({ maxBytes: 100, quotaBytes: 25 })
    expect((await put('/upload/a/one.onnx', ['x'.repeat(10)])).status).toBe(201)
    expect((await put('/upload/a/two.onnx', ['x'.repeat(10)])).status).toBe(201)
    const declared = await put('/upload/b/three.onnx', ['x'.repeat(10)], { 'content-length': '10' })
    expect(declared.status).toBe(413)
    expect(JSON.parse(declared.body).error).toMatch(
      /^upload refused: this host's uploads would pass their quota of 25 bytes \(20 bytes used\); restart `npm run serve` to clear them, or give it a larger --upload-quota-gib$/,
    )
    const streamed = await put('/upload/b/four.onnx', ['x'.repeat(4), 'x'.repeat(4)], {
      'transfer-encoding': 'chunked',
    })
    expect([413, -1]).toContain(streamed.status)
    await expect.poll(() => uploads.usedBytes()).toBe(20)
    expect((await put('/upload/b/five.onnx', ['x'.repeat(5)])).status).toBe(201)
    expect(uploads.usedBytes()).toBe(25)
    expect(readdirSync(join(uploads.root, 'a')).sort()).toEqual(['one.onnx', 'two.onnx'])
    expect(readdirSync(join(uploads.root, 'b'))).toEqual(['five.onnx'])
  })

  it('holds under 10 parallel uploads that together pass it', async () => {
    const { uploads, put } = await serve({ maxBytes: 100, quotaBytes: 50 })
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        put(`/upload/p/${i}.onnx`, ['x'.repeat(10)], { 'transfer-encoding': 'chunked' }),
      ),
    )
    expect(results.filter((r) => r.status === 201).length).toBeLessThanOrEqual(5)
    expect(uploads.usedBytes()).toBeLessThanOrEqual(50)
    expect(readdirSync(join(uploads.root, 'p')).length).toBe(results.filter((r) => r.status === 201).length)
  })
})

describe('upload names', () => {
  it('are relative to the upload folder; the page’s names resolve inside it and nowhere else', async () => {
    const { uploads, put } = await serve({})
    const up = await put('/upload/b1/my%20model/unet/model.onnx', ['bytes'])
    expect(JSON.parse(up.body)).toEqual({ path: 'b1/my model/unet/model.onnx', top: 'b1/my model' })
    expect(uploads.resolve('b1/my model')).toBe(join(uploads.root, 'b1', 'my model'))
    for (const outside of ['../x.onnx', 'b1/../../x.onnx', '/etc/passwd', '', '.'])
      expect(uploads.resolve(outside), outside).toBeUndefined()
    expect(uploads.hide(`${join(uploads.root, 'b1', 'model.onnx')}: no 4-D image input`)).toBe(
      'b1/model.onnx: no 4-D image input',
    )
  })
})

describe('upload folders of hosts that ended without cleaning up', () => {
  it('are removed at start; those of running hosts and anything else stay', async () => {
    const parentDir = mkdtempSync(join(tmpdir(), 'stepwise-uploads-stale-'))
    // A process that has ended: its id names no live process now.
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid
    const stale = join(parentDir, `stepwise-uploads-${deadPid}-abc123`)
    const running = join(parentDir, `stepwise-uploads-${process.ppid}-def456`)
    const other = join(parentDir, 'stepwise-uploads-notes')
    for (const dir of [stale, running, other]) mkdirSync(join(dir, 'b1'), { recursive: true })
    writeFileSync(join(stale, 'b1', 'model.onnx'), 'left behind by a crash')
    const uploads = await createUploads({ parentDir })
    opened.push({ uploads, close: () => {} })
    expect(existsSync(stale)).toBe(false)
    expect(existsSync(running)).toBe(true)
    expect(existsSync(other)).toBe(true)
    expect(uploads.root.startsWith(join(parentDir, `stepwise-uploads-${process.pid}-`))).toBe(true)
  })
})
