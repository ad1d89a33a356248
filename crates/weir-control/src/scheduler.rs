//! Recurring runs: cron (KFP's 6-field form with seconds) and interval triggers, start and end
//! times, max_concurrency, catchup or no_catchup. Every slot is claimed in the store before its
//! run is created, so a schedule never fires twice for the same slot, across restarts too.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use tokio_util::sync::CancellationToken;
use weir_api_model as dto;
use weir_store::{ListQuery, RecurringRun};
use weir_types::RunId;

use crate::error::{ControlError, ControlResult};
use crate::runs::{ExperimentRef, NewRun, ScheduledSlot};
use crate::source::LoadedPipeline;
use crate::Control;

/// How often schedules are looked at; intervals are whole seconds, so this is fine-grained enough.
const TICK: Duration = Duration::from_millis(500);
/// Missed slots backfilled per recurring run per tick (catchup after a long downtime).
const MAX_SLOTS_PER_TICK: usize = 100;

/// Fires the recurring runs that are due, every [`TICK`], until `shutdown`.
pub async fn run(control: Arc<Control>, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = fire_due(&control).await {
            tracing::warn!(error = ?error, "recurring runs could not be checked");
        }
    }
}

fn parse_cron(expression: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expression)
        .map_err(|e| format!("the cron expression `{expression}` is invalid: {e}; KFP uses 6 fields with seconds, e.g. `0 0 9 ? * 2-6`"))
}

/// Refuses triggers that could never fire.
pub fn check_trigger(trigger: &dto::Trigger) -> ControlResult<()> {
    match (&trigger.cron_schedule, &trigger.periodic_schedule) {
        (Some(cron), None) => {
            let expression = cron.cron.as_deref().unwrap_or_default();
            parse_cron(expression).map_err(ControlError::InvalidArgument)?;
            Ok(())
        }
        (None, Some(periodic)) => match periodic.interval_second {
            Some(seconds) if seconds > 0 => Ok(()),
            _ => Err(ControlError::invalid(
                "periodic_schedule.interval_second must be a positive number of seconds",
            )),
        },
        _ => Err(ControlError::invalid(
            "the trigger needs exactly one of cron_schedule or periodic_schedule",
        )),
    }
}

async fn fire_due(control: &Control) -> ControlResult<()> {
    let mut query = ListQuery {
        page_size: 200,
        ..Default::default()
    };
    loop {
        let page = control.store.list_recurring_runs(&query).await?;
        for recurring in page.items.iter().filter(|r| r.enabled) {
            if let Err(error) = fire_one(control, recurring).await {
                tracing::warn!(recurring_run_id = %recurring.id, error = ?error, "recurring run did not fire");
            }
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(()),
        }
    }
}

async fn fire_one(control: &Control, recurring: &RecurringRun) -> ControlResult<()> {
    let Ok(trigger) = serde_json::from_value::<dto::Trigger>(recurring.trigger.clone()) else {
        return Ok(());
    };
    let now = Utc::now();
    let last = control.store.last_claimed_slot(recurring.id).await?;
    let mut due = due_slots(&trigger, recurring.created_at, last, now);
    if recurring.no_catchup {
        due = due.pop().into_iter().collect();
    }
    for slot in due {
        let active = control
            .store
            .count_active_runs_of_recurring(recurring.id)
            .await?;
        if active >= recurring.max_concurrency {
            return Ok(());
        }
        let run_id = RunId::new();
        if !control
            .store
            .claim_recurring_slot(recurring.id, slot, run_id)
            .await?
        {
            continue;
        }
        submit(control, recurring, slot, run_id).await?;
    }
    Ok(())
}

async fn submit(
    control: &Control,
    recurring: &RecurringRun,
    slot: DateTime<Utc>,
    run_id: RunId,
) -> ControlResult<()> {
    let spec = recurring
        .pipeline_spec
        .clone()
        .ok_or_else(|| ControlError::FailedPrecondition("the recurring run has no spec".into()))?;
    let pipeline = LoadedPipeline {
        document: crate::package::document_from_value(spec)?,
        pipeline_id: recurring.pipeline_id,
        version_id: recurring.pipeline_version_id,
    };
    let run = NewRun {
        display_name: Some(format!(
            "{} {}",
            recurring.display_name,
            slot.format("%Y-%m-%d %H-%M-%S")
        )),
        experiment: recurring.experiment_id.map(ExperimentRef::Id),
        parameters: recurring.runtime_config.parameters.clone(),
        pipeline_root: recurring.runtime_config.pipeline_root.clone(),
        namespace: recurring.namespace.clone(),
        service_account: recurring.service_account.clone(),
        scheduled: Some(ScheduledSlot {
            recurring_run_id: recurring.id,
            run_id,
        }),
        ..NewRun::new(pipeline.into())
    };
    control.create_run(run).await?;
    Ok(())
}

/// The slots after `last` (or after the schedule's start) up to `now`, oldest first, bounded.
pub fn due_slots(
    trigger: &dto::Trigger,
    created_at: DateTime<Utc>,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut slots = Vec::new();
    if let Some(periodic) = &trigger.periodic_schedule {
        let Some(interval) = periodic.interval_second.filter(|s| *s > 0) else {
            return slots;
        };
        let start = periodic.start_time.unwrap_or(created_at);
        let end = periodic
            .end_time
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
            .min(now);
        let step = chrono::Duration::seconds(interval);
        // The first slot is one interval after the start; resume after the last claimed one.
        let mut slot = match last {
            Some(last) if last >= start => last + step,
            _ => start + step,
        };
        // After a long downtime, skip ahead so that only the newest slots are considered.
        let behind = (end - slot).num_seconds() / interval;
        if behind > MAX_SLOTS_PER_TICK as i64 {
            slot += step * ((behind - MAX_SLOTS_PER_TICK as i64) as i32);
        }
        while slot <= end && slots.len() < MAX_SLOTS_PER_TICK {
            slots.push(slot);
            slot += step;
        }
        return slots;
    }
    if let Some(cron) = &trigger.cron_schedule {
        let Ok(schedule) = parse_cron(cron.cron.as_deref().unwrap_or_default()) else {
            return slots;
        };
        let start = cron.start_time.unwrap_or(created_at);
        let end = cron.end_time.unwrap_or(DateTime::<Utc>::MAX_UTC).min(now);
        let from = last.filter(|l| *l >= start).unwrap_or(start);
        for slot in schedule.iter_after(from) {
            if slot > end {
                break;
            }
            slots.push(slot);
            if slots.len() >= MAX_SLOTS_PER_TICK {
                // Keep the newest ones: drop the oldest as newer ones come.
                slots.remove(0);
            }
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, h, m, s)
            .single()
            .expect("valid time")
    }

    #[test]
    fn interval_slots_follow_the_start_and_resume_after_the_last_claim() {
        let trigger = dto::Trigger {
            periodic_schedule: Some(dto::PeriodicSchedule {
                interval_second: Some(60),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            due_slots(&trigger, at(0, 0, 0), None, at(0, 2, 30)),
            vec![at(0, 1, 0), at(0, 2, 0)]
        );
        assert_eq!(
            due_slots(&trigger, at(0, 0, 0), Some(at(0, 1, 0)), at(0, 2, 30)),
            vec![at(0, 2, 0)]
        );
        assert!(due_slots(&trigger, at(0, 0, 0), Some(at(0, 2, 0)), at(0, 2, 30)).is_empty());
    }

    #[test]
    fn cron_slots_use_six_fields_with_seconds_and_respect_the_end() {
        let cron = |end| dto::Trigger {
            cron_schedule: Some(dto::CronSchedule {
                cron: Some("0 */10 * * * *".into()),
                end_time: end,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            due_slots(&cron(None), at(0, 0, 0), None, at(0, 25, 0)),
            vec![at(0, 10, 0), at(0, 20, 0)]
        );
        assert_eq!(
            due_slots(&cron(Some(at(0, 15, 0))), at(0, 0, 0), None, at(0, 25, 0)),
            vec![at(0, 10, 0)]
        );
        assert!(check_trigger(&cron(None)).is_ok());
        let bad = dto::Trigger {
            cron_schedule: Some(dto::CronSchedule {
                cron: Some("every day".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(check_trigger(&bad).is_err());
        let quartz = dto::Trigger {
            cron_schedule: Some(dto::CronSchedule {
                cron: Some("0 0 9 ? * 2-6".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(check_trigger(&quartz).is_ok());
    }
}
