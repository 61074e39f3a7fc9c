import * as events from 'aws-cdk-lib/aws-events';
import { RuleTargetInput, RuleTargetInputProperties, IRule } from 'aws-cdk-lib/aws-events';

/**
 * The core's EventBridge pattern (CloudFormation spelling: `detail-type`) as a CDK
 * `EventPattern` (camelCase members, which CDK renders back to the same JSON). A pure
 * renaming of the top-level members; nothing is added or dropped.
 */
export function toEventPattern(pattern: Record<string, any>): events.EventPattern {
  const out: Record<string, any> = {};
  for (const [key, value] of Object.entries(pattern)) {
    out[key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
  }
  return out as events.EventPattern;
}

/**
 * The core's alert input transformer (`{InputPathsMap, InputTemplate}`) as a target
 * input, passed through unchanged, so the CDK rule's message is exactly the one
 * `depot-migrate alert-rule` writes.
 */
export class CoreInputTransformer extends RuleTargetInput {
  constructor(private readonly transformer: { InputPathsMap: Record<string, string>; InputTemplate: string }) {
    super();
  }

  public bind(_rule: IRule): RuleTargetInputProperties {
    return {
      inputPathsMap: { ...this.transformer.InputPathsMap },
      inputTemplate: this.transformer.InputTemplate,
    };
  }
}
