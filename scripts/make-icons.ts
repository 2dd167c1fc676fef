// npx tsx scripts/make-icons.ts
// Draws the app icons into public/: a speech bubble whose three dots say "and then…", the
// thing GPT-2 does. Pure Node (zlib for PNG) so it runs anywhere the project does.
//   icon-192.png, icon-512.png: rounded square, transparent corners ("any" purpose)
//   icon-maskable-512.png: full-bleed background, drawing inside the central 80% safe zone
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

type Rgba = [number, number, number, number];

const BACKGROUND: Rgba = [47, 93, 138, 255];
const BUBBLE: Rgba = [255, 255, 255, 255];
const TRANSPARENT: Rgba = [0, 0, 0, 0];
/** Samples per pixel side: edges are antialiased by averaging SUPERSAMPLE² samples. */
const SUPERSAMPLE = 4;

/** Signed distance from (x, y) to a rounded rectangle centred at (cx, cy): negative inside. */
function roundedRect(x: number, y: number, cx: number, cy: number, halfWidth: number, halfHeight: number, radius: number): number {
  const dx = Math.abs(x - cx) - halfWidth + radius;
  const dy = Math.abs(y - cy) - halfHeight + radius;
  return Math.hypot(Math.max(dx, 0), Math.max(dy, 0)) + Math.min(Math.max(dx, dy), 0) - radius;
}

/** Whether (x, y) is inside the triangle a, b, c. */
function inTriangle(x: number, y: number, [ax, ay]: number[], [bx, by]: number[], [cx, cy]: number[]): boolean {
  const side = (px: number, py: number, qx: number, qy: number) => (qx - px) * (y - py) - (qy - py) * (x - px);
  const d1 = side(ax, ay, bx, by);
  const d2 = side(bx, by, cx, cy);
  const d3 = side(cx, cy, ax, ay);
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
}

/** The colour at (u, v) in [0, 1]²; the maskable icon draws smaller, inside its safe zone. */
function colourAt(u: number, v: number, maskable: boolean): Rgba {
  const insideBackground = maskable || roundedRect(u, v, 0.5, 0.5, 0.5, 0.5, 0.22) < 0;
  if (!insideBackground) return TRANSPARENT;
  const scale = maskable ? 0.75 : 1;
  const x = 0.5 + (u - 0.5) / scale;
  const y = 0.5 + (v - 0.5) / scale;
  const inBubble = roundedRect(x, y, 0.5, 0.45, 0.3, 0.2, 0.1) < 0 || inTriangle(x, y, [0.3, 0.6], [0.44, 0.6], [0.27, 0.78]);
  if (!inBubble) return BACKGROUND;
  const inDot = [0.37, 0.5, 0.63].some((dotX) => Math.hypot(x - dotX, y - 0.45) < 0.045);
  return inDot ? BACKGROUND : BUBBLE;
}

/** RGBA pixels, row-major, antialiased. */
function draw(size: number, maskable: boolean): Uint8Array {
  const pixels = new Uint8Array(size * size * 4);
  const samples = SUPERSAMPLE * SUPERSAMPLE;
  for (let row = 0; row < size; row++) {
    for (let column = 0; column < size; column++) {
      // Premultiplied sums, so transparent samples do not darken the edge colour.
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const [r, g, b, a] = colourAt((column + (sx + 0.5) / SUPERSAMPLE) / size, (row + (sy + 0.5) / SUPERSAMPLE) / size, maskable);
          sum[0] += r * a;
          sum[1] += g * a;
          sum[2] += b * a;
          sum[3] += a;
        }
      }
      const offset = (row * size + column) * 4;
      const alpha = sum[3];
      for (let channel = 0; channel < 3; channel++) pixels[offset + channel] = alpha ? Math.round(sum[channel] / alpha) : 0;
      pixels[offset + 3] = Math.round(alpha / samples);
    }
  }
  return pixels;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An 8-bit RGBA PNG, every row unfiltered (filter byte 0). */
function encodePng(size: number, pixels: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // bit depth 8, colour type RGBA, deflate, no filter method, no interlace
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let row = 0; row < size; row++) rows.set(pixels.subarray(row * size * 4, (row + 1) * size * 4), row * (size * 4 + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', new Uint8Array()),
  ]);
}

const out = resolve(import.meta.dirname, '../public');
await mkdir(out, { recursive: true });
for (const [name, size, maskable] of [
  ['icon-192.png', 192, false],
  ['icon-512.png', 512, false],
  ['icon-maskable-512.png', 512, true],
] as const) {
  await writeFile(resolve(out, name), encodePng(size, draw(size, maskable)));
  console.log(`wrote public/${name}`);
}
