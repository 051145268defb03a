import type { QueryContext } from '../query/resolver.js';
import type { Rule } from '../query/rule.js';
import { BlockAnswers, type BlockAnswerSettings, type BlockReason } from './block-answers.js';
import type { Synthesizer } from '../dns/synthesizer.js';

type BlockContext = Pick<QueryContext, 'packet' | 'query' | 'transport' | 'group'>;

/**
 * Block answers when client groups set their own `block-mode` (issue #14): one BlockAnswers per
 * group (built at start; the groups never change while serving), picked by the query's group.
 * Groups without a block-mode of their own share the server-wide one, which this object is.
 */
export class GroupBlockAnswers extends BlockAnswers {
  private readonly byGroup: readonly BlockAnswers[];

  constructor(settings: BlockAnswerSettings, synthesizer: Synthesizer, groupModes: readonly (BlockAnswerSettings['blockMode'] | undefined)[]) {
    super(settings, synthesizer);
    const shared = new Map<string, BlockAnswers>();
    const answersFor = (mode: BlockAnswerSettings['blockMode']): BlockAnswers => {
      let answers = shared.get(mode);
      if (answers === undefined) {
        answers = new BlockAnswers({ ...settings, blockMode: mode }, synthesizer);
        shared.set(mode, answers);
      }
      return answers;
    };
    this.byGroup = groupModes.map((mode) => (mode === undefined || mode === settings.blockMode ? this : answersFor(mode)));
  }

  private forGroup(ctx: BlockContext): BlockAnswers | undefined {
    const answers = this.byGroup[ctx.group ?? 0];
    return answers === this ? undefined : answers;
  }

  override answer(ctx: BlockContext, rule: Rule, reason: BlockReason = 'name'): Buffer {
    return this.forGroup(ctx)?.answer(ctx, rule, reason) ?? super.answer(ctx, rule, reason);
  }

  override answerVia(ctx: BlockContext, rule: Rule, reason: BlockReason, via: string): Buffer {
    return this.forGroup(ctx)?.answerVia(ctx, rule, reason, via) ?? super.answerVia(ctx, rule, reason, via);
  }

  override rpzAnswer(ctx: BlockContext, rule: Rule): Buffer | undefined {
    const other = this.forGroup(ctx);
    return other === undefined ? super.rpzAnswer(ctx, rule) : other.rpzAnswer(ctx, rule);
  }
}
