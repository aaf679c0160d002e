/** The tables of the pages: a labelled, scrollable region holding a table of columns over rows. */
import type { ComponentChildren } from 'preact';
import { TableWrap } from './layout.js';

export interface Column<T> {
  /** The column's header cell (`<th scope="col">`). */
  header: ComponentChildren;
  /** What a row shows in this column. */
  cell: (row: T, index: number) => ComponentChildren;
  /** The class of the header and of each cell: `num` aligns numbers to the right. */
  class?: string;
  /** The class of a cell, in place of `class` (the header keeps `class`). */
  cellClass?: string | ((row: T) => string | undefined);
  /** The cells are row headers (`<th scope="row">`) instead of data cells. */
  rowHeader?: boolean;
  /** How many columns a row's cell spans (1 by default); the columns it covers are left out of that row. */
  span?: (row: T) => number;
}

export interface DataTableProps<T> {
  /** The accessible name of the scrollable region around the table. */
  label: string;
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T, index: number) => string | number;
  /** A `data-testid` for a row. */
  rowTestId?: (row: T) => string | undefined;
  /** The class of the table. */
  class?: string;
  /** A full-width row above the rows (a link to the parent folder). */
  lead?: ComponentChildren;
  /** A full-width row, muted, shown when there are no rows. */
  empty?: ComponentChildren;
}

export function DataTable<T>({ label, columns, rows, rowKey, rowTestId, class: tableClass, lead, empty }: DataTableProps<T>) {
  return (
    <TableWrap label={label}>
      <table class={tableClass}>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th scope="col" class={c.class} key={i}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {lead !== undefined && (
            <tr>
              <td colSpan={columns.length}>{lead}</td>
            </tr>
          )}
          {rows.length === 0 && empty !== undefined && (
            <tr>
              <td colSpan={columns.length} class="muted">
                {empty}
              </td>
            </tr>
          )}
          {rows.map((row, r) => (
            <tr key={rowKey(row, r)} data-testid={rowTestId?.(row)}>
              {cells(columns, row, r)}
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

function cells<T>(columns: Column<T>[], row: T, r: number) {
  const out = [];
  for (let i = 0; i < columns.length;) {
    const c = columns[i];
    const span = Math.max(1, Math.min(c.span?.(row) ?? 1, columns.length - i));
    const cls = c.cellClass === undefined ? c.class : typeof c.cellClass === 'string' ? c.cellClass : c.cellClass(row);
    const content = c.cell(row, r);
    out.push(
      c.rowHeader ? (
        <th scope="row" class={cls} colSpan={span > 1 ? span : undefined} key={i}>
          {content}
        </th>
      ) : (
        <td class={cls} colSpan={span > 1 ? span : undefined} key={i}>
          {content}
        </td>
      ),
    );
    i += span;
  }
  return out;
}
