// chart.js: the dashboard's line charts. One scale maps values to pixels for the lines,
// the gridlines and their labels alike, so a label always sits on the value it names.

/** The smallest 1, 2 or 5 × 10^k at or above v (at least 1): the chart's top value. */
export function niceCeil(v) {
  if (!(v > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Room above the top gridline for its label, and below the baseline for nothing else. */
export const PAD_TOP = 16, PAD_BOTTOM = 4;

/** The scale of a chart h pixels high showing values: its top value and y(v). */
export function scale(values, h) {
  const top = niceCeil(Math.max(0, ...values));
  const plot = h - PAD_TOP - PAD_BOTTOM;
  return { top, y: (v) => h - PAD_BOTTOM - plot * (v / top) };
}

/**
 * Draws lines ([{ data, color }], newest last, at most points each) on canvas, with
 * gridlines at 0, half and the top, labelled by label(value) inside the plot.
 */
export function draw(canvas, lines, points, label) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const { top, y } = scale(lines.flatMap((l) => l.data), h);
  canvas.dataset.top = String(top); // for tests: the value of the top gridline
  ctx.strokeStyle = "#e2e5eb";
  ctx.fillStyle = "#6b7385";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "bottom";
  ctx.lineWidth = 1;
  for (const f of [0, 0.5, 1]) {
    const gy = Math.round(y(top * f)) + 0.5;
    ctx.beginPath(); ctx.moveTo(0, gy); ctx.lineTo(w, gy); ctx.stroke();
    if (f > 0) ctx.fillText(label(top * f), 4, gy - 2); // above its line, inside the plot
  }
  for (const { data, color } of lines) {
    if (data.length < 2) continue;
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    data.forEach((v, i) => {
      const x = w - (data.length - 1 - i) * (w / (points - 1));
      i ? ctx.lineTo(x, y(v)) : ctx.moveTo(x, y(v));
    });
    ctx.stroke();
  }
}
