/**
 * Tables as HTML. Takes anything shaped like a danfojs DataFrame (columns, index, values), so
 * this module does not load danfojs (and with it tfjs) just to print a table.
 */
import { escapeHtml, showHtml } from "./display.js";

export interface TableLike {
  columns: readonly string[];
  index: readonly (string | number)[];
  /** Row-major cells; a 1D array is read as one value per row. */
  values: readonly unknown[];
}

export interface TableOptions {
  /** Decimal places for non-integer numbers; default 3. */
  digits?: number;
  /** Rows shown before "... n more rows"; default 50. */
  maxRows?: number;
  /** Show the index column; default true. */
  index?: boolean;
  caption?: string;
}

function cell(v: unknown, digits: number): string {
  if (typeof v === "number" && !Number.isInteger(v) && Number.isFinite(v)) return v.toFixed(digits);
  return escapeHtml(String(v));
}

/** An HTML <table>; numbers are right-aligned. */
export function tableHtml(df: TableLike, options: TableOptions = {}): string {
  const { digits = 3, maxRows = 50, index = true, caption } = options;
  const rows = df.values.map((r) => (Array.isArray(r) ? (r as unknown[]) : [r]));
  const head = (index ? ["<th></th>"] : []).concat(df.columns.map((c) => `<th>${escapeHtml(c)}</th>`));
  const body = rows.slice(0, maxRows).map((r, n) => {
    const tds = r.map((v) => `<td style="text-align:${typeof v === "number" ? "right" : "left"}">${cell(v, digits)}</td>`);
    if (index) tds.unshift(`<th>${escapeHtml(String(df.index[n]))}</th>`);
    return `<tr>${tds.join("")}</tr>`;
  });
  if (rows.length > maxRows) body.push(`<tr><td colspan="${head.length}">... ${rows.length - maxRows} more rows</td></tr>`);
  return [
    `<table class="anatomy-ssl-table">`,
    caption ? `<caption>${escapeHtml(caption)}</caption>` : "",
    `<thead><tr>${head.join("")}</tr></thead>`,
    `<tbody>${body.join("")}</tbody>`,
    `</table>`,
  ].join("");
}

/** Show a danfojs DataFrame (or any TableLike) as an HTML table in the current tslab notebook. */
export function showTable(df: TableLike, options: TableOptions = {}): void {
  showHtml(tableHtml(df, options));
}
