import { SecureflowError } from '../../core/errors.js';
import { osUser } from '../os-user.js';
import { withStore } from '../database.js';
import { RemoteClient, remoteTarget } from '../remote-client.js';
import { remoteFeedback } from '../remote-api.js';
import { parseTransactionId } from '../arguments.js';
import { resolveFormat, type IOStreams } from '../io.js';

export interface FeedbackOptions {
  correct?: boolean;
  incorrect?: boolean;
  notes?: string;
  db?: string;
  remote?: string;
  apiKey?: string;
  format?: 'text' | 'json';
}

/** Records whether a flag was right: one current verdict per transaction, a second call updates it. */
export async function runFeedback(idText: string, opts: FeedbackOptions, io: IOStreams): Promise<void> {
  const id = parseTransactionId(idText);
  if (Boolean(opts.correct) === Boolean(opts.incorrect))
    throw new SecureflowError('usage', 'give exactly one of --correct or --incorrect');
  const remote = remoteTarget(opts);
  const save = remote
    ? () => remoteFeedback(new RemoteClient(remote.url, remote.apiKey), id, Boolean(opts.correct), opts.notes ?? null)
    : () =>
        withStore(opts.db, (store) => store.upsertFeedback(id, Boolean(opts.correct), opts.notes ?? null, osUser()), {
          mustExist: true,
        });
  {
    const feedback = await save();
    if (!feedback) throw new SecureflowError('not_found', `transaction ${id} not found`);
    if (resolveFormat(opts.format, io, 'text', 'json') === 'json') io.stdout.write(`${JSON.stringify(feedback)}\n`);
    else {
      const updated = 'previous' in feedback ? feedback.previous !== null : feedback.updated_at !== feedback.created_at;
      io.stdout.write(
        `${updated ? 'updated' : 'recorded'}: transaction ${id} marked ${feedback.is_correct ? 'correct' : 'incorrect'}${feedback.notes ? ` (${feedback.notes})` : ''}\n`,
      );
    }
  }
}
