//! `depot-migrate alert-rule` (the arguments, then the command).

use crate::output::{print_json, Failure};
use clap::{Args, ValueEnum};
use depot_migrate_core::{load, DatasetConfig};
use depot_migrate_engine::input::read_input;
use serde_json::json;

#[derive(Args, Debug)]
pub struct AlertRuleArgs {
    /// The dataset config (its id scopes the rule; its eventBusName is the bus).
    #[arg(long, value_name = "FILE")]
    pub dataset: String,
    /// Events to alert on, comma-separated (default: all four).
    #[arg(long, value_name = "EVENTS", value_delimiter = ',')]
    pub events: Vec<String>,
    /// The SNS topic; without it the template takes an `AlertTopicArn` parameter.
    #[arg(long, value_name = "ARN")]
    pub topic_arn: Option<String>,
    /// `cloudformation` (a template) or `json` (the event pattern only).
    #[arg(long, value_enum, default_value_t = RuleFormat::Cloudformation)]
    pub format: RuleFormat,
    /// Also emit an `AWS::SNS::TopicPolicy` letting the rule publish. It REPLACES the
    /// topic's whole policy: only for a topic this stack's rule alone uses. Without
    /// it the statement to add to the topic's policy is printed on stderr.
    #[arg(long)]
    pub with_topic_policy: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RuleFormat {
    /// A CloudFormation template.
    Cloudformation,
    /// The event pattern.
    Json,
}

pub fn run(args: AlertRuleArgs) -> Result<(), Failure> {
    let AlertRuleArgs {
        dataset,
        events,
        topic_arn,
        format,
        with_topic_policy,
    } = args;
    let file = read_input(&dataset).map_err(|(n, e)| Failure::BadInput(vec![(n, e.problems)]))?;
    let ds = load::parse_dataset(&file.bytes)
        .map_err(|e| Failure::BadInput(vec![(file.name, e.problems)]))?;
    let options = json!({"datasetIds": [ds.dataset_id], "events": events});
    let pattern = depot_migrate_core::lifecycle::event_pattern_from_json(&options.to_string())
        .map_err(|e| {
            Failure::Usage(format!(
                "--events: {}",
                e.problems
                    .first()
                    .map(|p| p.message.clone())
                    .unwrap_or_default()
            ))
        })?;
    if format == RuleFormat::Json {
        print_json(&pattern);
        return Ok(());
    }
    if let Some(arn) = &topic_arn {
        let ok = arn.starts_with("arn:aws")
            && arn.split(':').count() == 6
            && arn.split(':').nth(2) == Some("sns");
        if !ok {
            return Err(Failure::Usage(format!(
                "--topic-arn {arn:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
            )));
        }
    }
    let template = alert_rule_template(&ds, pattern, topic_arn.as_deref(), with_topic_policy);
    if !with_topic_policy {
        let statement = topic_statement(
            &json!(topic_arn.as_deref().unwrap_or("<AlertTopicArn>")),
            json!("<the stack's RuleArn output>"),
        );
        eprintln!(
            "note: the template leaves the SNS topic's policy to its owner (an AWS::SNS::TopicPolicy replaces the whole policy, and other datasets' alerts may share the topic); add this statement to the topic's policy so that EventBridge can publish: {statement}"
        );
    }
    print_json(&template);
    Ok(())
}

/// A CloudFormation template with the lifecycle alert rule and the SNS topic policy that
/// lets EventBridge publish to the topic (without it, notifications are dropped).
/// The topic-policy statement that lets the rule `rule_arn` publish to `topic`.
fn topic_statement(topic: &serde_json::Value, rule_arn: serde_json::Value) -> serde_json::Value {
    json!({
        "Sid": "AllowEventBridgePublish",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
    })
}

fn alert_rule_template(
    ds: &DatasetConfig,
    pattern: serde_json::Value,
    topic_arn: Option<&str>,
    with_topic_policy: bool,
) -> serde_json::Value {
    let topic = match topic_arn {
        Some(arn) => json!(arn),
        None => json!({"Ref": "AlertTopicArn"}),
    };
    let mut rule = json!({
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Description": format!("Notify (alert) rule for migration lifecycle events of dataset {}", ds.dataset_id),
            "EventPattern": pattern,
            "State": "ENABLED",
            "Targets": [{
                "Arn": topic,
                "Id": "AlertTopic",
                "InputTransformer": depot_migrate_core::lifecycle::alert_input_transformer(),
            }],
        },
    });
    if let Some(bus) = ds.event_bus_name.as_deref().filter(|b| *b != "default") {
        rule["Properties"]["EventBusName"] = json!(bus);
    }
    let mut template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("depot-migrate lifecycle alerts for dataset {} ({})", ds.dataset_id, ds.dataset_alias.as_deref().unwrap_or("-")),
        "Resources": {
            "MigrationLifecycleRule": rule,
        },
        "Outputs": {"RuleArn": {"Value": {"Fn::GetAtt": ["MigrationLifecycleRule", "Arn"]}}},
    });
    if with_topic_policy {
        template["Resources"]["MigrationLifecycleTopicPolicy"] = json!({
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [topic],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [topic_statement(&topic, json!({"Fn::GetAtt": ["MigrationLifecycleRule", "Arn"]}))],
                },
            },
        });
    }
    if topic_arn.is_none() {
        template["Parameters"] = json!({"AlertTopicArn": {"Type": "String", "Description": "ARN of the SNS topic that receives the alerts"}});
    }
    template
}
