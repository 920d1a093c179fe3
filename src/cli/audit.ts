/**
 * `tsvision audit DIR [--val DIR] [--out audit.html] [--checkpoint CKPT] [--json]`: what a
 * folder of training images holds before training (src/data/audit.ts), in the terminal
 * (or as JSON) and as one self-contained HTML page. Findings are not errors: the exit
 * status is 0 whenever the audit ran.
 */
import { auditFolder, AuditError, classImageFiles, DEFAULT_AUDIT_SETTINGS, type AuditReport } from '../data/audit.js';
import { auditHtml, auditThumbnails, formatAudit } from '../metrics/audit-report.js';
import { writeFileAtomic } from '../core/atomic.js';
import { findLabelSuspects, withSuspects } from '../train/label-noise.js';
import { helpText, parseCommand, UsageError, type CommandSpec } from './args.js';
import { CommandError, loadPredictor, requireFolder } from './common.js';

export const AUDIT: CommandSpec = {
  name: 'audit',
  summary:
    'Audits a folder of training images before training: unreadable and odd files, class balance, sizes, duplicates and leakage, ' +
    'and with --checkpoint the pictures a trained model thinks mislabelled.',
  positionals: 'DIR',
  options: [
    { name: 'val', type: 'string', value: 'DIR', help: 'the validation folder (same layout): its files are audited too, and checked for leakage' },
    { name: 'out', type: 'string', value: 'FILE', default: 'audit.html', help: 'the HTML report' },
    { name: 'json', type: 'flag', help: 'print the report as JSON instead of text' },
    { name: 'checkpoint', type: 'string', value: 'DIR', help: 'a trained checkpoint: list training pictures it confidently gives to another class' },
    { name: 'min-confidence', type: 'fraction', value: 'P', default: 0.8, help: "a suspect's predicted class has at least this probability" },
    { name: 'suspects', type: 'int', value: 'N', default: 24, help: 'label-noise suspects to show, highest loss first' },
    {
      name: 'near-distance',
      type: 'int',
      value: 'BITS',
      min: 0,
      max: 31,
      default: DEFAULT_AUDIT_SETTINGS.nearDistance,
      help: 'near duplicates: perceptual hashes (dHash, 64 bits) at most this many bits apart',
    },
    {
      name: 'near-difference',
      type: 'fraction',
      value: 'F',
      default: DEFAULT_AUDIT_SETTINGS.nearDifference,
      help: "... and 16x16 grey thumbnails at most this far apart (summed pixel difference / the pictures' contrast)",
    },
  ],
  epilog: 'Findings are advice, not errors: the exit status is 0 when the audit ran. docs/data.md ("Auditing a folder") explains each finding.',
};

export async function audit(argv: string[], say: (line?: string) => void): Promise<number> {
  const where = 'tsvision audit';
  const { values, positionals, help } = parseCommand(AUDIT, argv);
  if (help) {
    say(helpText(AUDIT));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`${where}: give one folder (one subfolder per class), got ${positionals.length}`);
  const [dir] = positionals;
  const val = values.val as string | undefined;
  requireFolder(dir, where, 'the folder');
  if (val !== undefined) requireFolder(val, where, '--val');
  const checkpoint = values.checkpoint as string | undefined;
  const predictor = checkpoint !== undefined ? loadPredictor(checkpoint, where) : null;

  const tty = process.stderr.isTTY === true;
  let report: AuditReport;
  try {
    report = await auditFolder(dir, {
      ...(val !== undefined ? { val } : {}),
      nearDistance: values['near-distance'] as number,
      nearDifference: values['near-difference'] as number,
      onProgress: tty ? (done, total) => process.stderr.write(`\rreading ${done}/${total}${done === total ? '\n' : ''}`) : undefined,
    });
  } catch (e) {
    if (e instanceof AuditError) throw new CommandError(`${where}: ${e.message}`);
    throw e;
  }
  if (predictor) {
    const minConfidence = values['min-confidence'] as number;
    const files = classImageFiles(dir);
    const result = await findLabelSuspects(predictor, files, { minConfidence, limit: values.suspects as number, onSkip: () => {} });
    if (result.checked === 0)
      throw new CommandError(`${where}: the checkpoint ${checkpoint} knows none of the classes of ${dir} (it has ${predictor.classes.join(', ')})`);
    if (result.unknownClasses.length)
      process.stderr.write(`${where}: the checkpoint does not know class(es) ${result.unknownClasses.join(', ')}; their pictures were not checked\n`);
    report = withSuspects(report, result, minConfidence);
  }

  const out = values.out as string;
  try {
    writeFileAtomic(out, Buffer.from(auditHtml(report, await auditThumbnails(report)), 'utf8'));
  } catch (e) {
    throw new CommandError(`${where}: cannot write --out ${out}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (values.json) say(JSON.stringify(report, null, 2));
  else {
    for (const line of formatAudit(report)) say(line);
    say('');
    say(`HTML report: ${out}`);
  }
  return 0;
}
