/** A MySQL/MariaDB binary log file name, `<base>.<number>` (mysql-bin.000042): its series and its number in it. */
export function binlogSequence(name: string): { base: string; seq: number } {
  const dot = name.lastIndexOf('.');
  return { base: name.slice(0, dot), seq: Number(name.slice(dot + 1)) };
}
