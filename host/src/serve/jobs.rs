//! Long operations (deployments, image builds, resizes, disks, run-image) run as tokio tasks,
//! recorded in an in-memory table the API polls: `GET /v1/jobs/{id}`.
//!
//! The table is this process's memory only: the cloud's tags stay the record of every run
//! (a deployment can be looked up and terminated by run id from any host). Finished jobs are
//! forgotten after [`RETENTION`].

use super::error::ApiError;
use connector_runtime::orchestrate::deploy::{GroupProgress, Observer};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// How long a finished job stays visible.
pub const RETENTION: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Running,
    Succeeded,
    Failed,
    /// Stopped by the API (e.g. `DELETE` of a running deployment).
    Cancelled,
}

/// The changing part of a job.
#[derive(Debug, Clone)]
pub struct JobState {
    pub status: JobStatus,
    pub result: Option<Value>,
    pub error: Option<ApiError>,
    pub finished_at: Option<SystemTime>,
}

/// Progress of a deployment, fed by [`Observer`] calls from the orchestration.
#[derive(Debug, Default)]
pub struct DeployProgress {
    phase: Mutex<String>,
    groups: Mutex<BTreeMap<String, GroupProgress>>,
}

impl DeployProgress {
    pub fn phase(&self) -> String {
        self.phase.lock().clone()
    }

    pub fn groups(&self) -> BTreeMap<String, GroupProgress> {
        self.groups.lock().clone()
    }
}

impl Observer for DeployProgress {
    fn phase(&self, phase: &str) {
        *self.phase.lock() = phase.to_string();
    }

    fn configured(&self, node: &str, configured: u32) {
        if let Some(g) = self.groups.lock().get_mut(node) {
            g.configured = configured;
        }
    }

    fn progress(&self, groups: &BTreeMap<String, GroupProgress>) {
        *self.groups.lock() = groups.clone();
    }
}

/// One background operation.
pub struct Job {
    pub id: String,
    caller: String,
    pub kind: &'static str,
    pub connector: String,
    /// The run the job belongs to (deployments, run terminations).
    pub run_id: Option<String>,
    /// A short human description (e.g. the deployment's name).
    pub title: String,
    pub created_at: SystemTime,
    pub progress: Option<Arc<DeployProgress>>,
    state: watch::Sender<JobState>,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

/// A job as JSON.
#[derive(Debug, Serialize)]
pub struct JobView {
    pub id: String,
    pub kind: &'static str,
    pub connector: String,
    pub title: String,
    pub status: JobStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub status_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

pub fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl Job {
    pub fn state(&self) -> JobState {
        self.state.borrow().clone()
    }

    pub fn status_url(&self) -> String {
        format!("/v1/jobs/{}", self.id)
    }

    pub fn view(&self) -> JobView {
        let s = self.state();
        JobView {
            id: self.id.clone(),
            kind: self.kind,
            connector: self.connector.clone(),
            title: self.title.clone(),
            status: s.status,
            run_id: self.run_id.clone(),
            created_at: timestamp(self.created_at),
            finished_at: s.finished_at.map(timestamp),
            status_url: self.status_url(),
            result: s.result,
            error: s.error,
        }
    }

    /// Waits until the job is no longer running.
    pub async fn finished(&self) -> JobState {
        let mut rx = self.state.subscribe();
        let done = rx.wait_for(|s| s.status != JobStatus::Running).await;
        match done {
            Ok(s) => s.clone(),
            // The sender lives in `self`: it cannot be gone while we borrow it.
            Err(_) => self.state(),
        }
    }

    /// Stops a running job (its task is dropped at its next await point). Returns whether it
    /// was running.
    pub fn cancel(&self, why: &str) -> bool {
        let cancelled = self.state.send_if_modified(|s| {
            if s.status != JobStatus::Running {
                return false;
            }
            s.status = JobStatus::Cancelled;
            s.error = Some(ApiError::conflict(why.to_string()).with_kind("cancelled"));
            s.finished_at = Some(SystemTime::now());
            true
        });
        if cancelled && let Some(task) = self.task.lock().take() {
            task.abort();
        }
        cancelled
    }

    fn finish(&self, outcome: Result<Value, ApiError>) {
        self.state.send_if_modified(|s| {
            // A cancelled job stays cancelled.
            if s.status != JobStatus::Running {
                return false;
            }
            match outcome {
                Ok(v) => {
                    s.status = JobStatus::Succeeded;
                    s.result = Some(v);
                }
                Err(e) => {
                    s.status = JobStatus::Failed;
                    s.error = Some(e);
                }
            }
            s.finished_at = Some(SystemTime::now());
            true
        });
    }
}

impl ApiError {
    fn with_kind(mut self, kind: &'static str) -> Self {
        self.kind = std::borrow::Cow::Borrowed(kind);
        self
    }
}

/// What a new job is.
pub struct NewJob {
    /// Who asked for it (a token fingerprint): the unit of the in-flight limit; empty for work
    /// that is never refused (terminations).
    pub caller: String,
    pub kind: &'static str,
    pub connector: String,
    pub title: String,
    pub run_id: Option<String>,
    pub progress: Option<Arc<DeployProgress>>,
}

/// The job table.
pub struct Jobs {
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    /// Jobs one caller may have running at once (`[server] max_jobs_per_caller`).
    max_per_caller: usize,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs::new(DEFAULT_MAX_JOBS_PER_CALLER)
    }
}

/// The default of `[server] max_jobs_per_caller`.
pub const DEFAULT_MAX_JOBS_PER_CALLER: usize = 16;

/// What a caller over its limit is told to wait, in seconds.
const RETRY_AFTER_S: u64 = 5;

impl Jobs {
    pub fn new(max_per_caller: usize) -> Self {
        Jobs {
            jobs: Mutex::default(),
            max_per_caller: max_per_caller.max(1),
        }
    }

    /// Starts `work` as a job and records it.
    /// Refused with 429 and `Retry-After` when the caller already has its limit of jobs running:
    /// the server queues nothing without bound.
    pub fn spawn<F>(&self, new: NewJob, work: F) -> Result<Arc<Job>, ApiError>
    where
        F: Future<Output = Result<Value, ApiError>> + Send + 'static,
    {
        let (state, _) = watch::channel(JobState {
            status: JobStatus::Running,
            result: None,
            error: None,
            finished_at: None,
        });
        let job = Arc::new(Job {
            id: uuid::Uuid::new_v4().simple().to_string(),
            caller: new.caller,
            kind: new.kind,
            connector: new.connector,
            run_id: new.run_id,
            title: new.title,
            created_at: SystemTime::now(),
            progress: new.progress,
            state,
            task: Mutex::new(None),
        });
        {
            let mut jobs = self.jobs.lock();
            let now = SystemTime::now();
            jobs.retain(|_, j| match j.state().finished_at {
                Some(t) => now.duration_since(t).unwrap_or_default() < RETENTION,
                None => true,
            });
            let running = jobs
                .values()
                .filter(|j| j.caller == job.caller && j.state().finished_at.is_none())
                .count();
            // Jobs of no caller (terminations) are never refused.
            if !job.caller.is_empty() && running >= self.max_per_caller {
                let mut e = ApiError::too_many(format!(
                    "you have {running} jobs running, as many as one caller may ([server] max_jobs_per_caller = {}): wait for one to finish",
                    self.max_per_caller
                ));
                e.retry_after = Some(RETRY_AFTER_S);
                return Err(e);
            }
            jobs.insert(job.id.clone(), job.clone());
        }
        let running = job.clone();
        let handle = tokio::spawn(async move {
            let outcome = work.await;
            if let Err(e) = &outcome {
                tracing::warn!(job = %running.id, kind = running.kind, "job failed: {e}");
            }
            running.finish(outcome);
        });
        *job.task.lock() = Some(handle.abort_handle());
        Ok(job)
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs.lock().get(id).cloned()
    }

    /// Every job, oldest first.
    pub fn list(&self) -> Vec<Arc<Job>> {
        let mut all: Vec<Arc<Job>> = self.jobs.lock().values().cloned().collect();
        all.sort_by_key(|j| j.created_at);
        all
    }

    /// The newest job of `kind` for `run_id` on `connector`.
    pub fn for_run(&self, kind: &str, connector: &str, run_id: &str) -> Option<Arc<Job>> {
        self.list().into_iter().rev().find(|j| {
            j.kind == kind && j.connector == connector && j.run_id.as_deref() == Some(run_id)
        })
    }

    /// Jobs still running (reported at shutdown).
    pub fn running(&self) -> Vec<Arc<Job>> {
        self.list()
            .into_iter()
            .filter(|j| j.state().status == JobStatus::Running)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(kind: &'static str) -> NewJob {
        NewJob {
            caller: "me".into(),
            kind,
            connector: "c".into(),
            title: String::new(),
            run_id: Some("r1".into()),
            progress: None,
        }
    }

    #[tokio::test]
    async fn a_job_reports_its_result() {
        let jobs = Jobs::default();
        let job = jobs
            .spawn(new("x"), async { Ok(serde_json::json!({"n": 1})) })
            .unwrap();
        let s = job.finished().await;
        assert_eq!(s.status, JobStatus::Succeeded);
        assert_eq!(s.result.unwrap()["n"], 1);
        assert!(jobs.get(&job.id).is_some());
        assert_eq!(jobs.for_run("x", "c", "r1").unwrap().id, job.id);
    }

    #[tokio::test]
    async fn a_cancelled_job_stays_cancelled() {
        let jobs = Jobs::default();
        let job = jobs
            .spawn(new("x"), async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(Value::Null)
            })
            .unwrap();
        assert!(job.cancel("stopped by a test"));
        assert!(!job.cancel("again"));
        assert_eq!(job.finished().await.status, JobStatus::Cancelled);
        assert_eq!(job.view().error.unwrap().kind, "cancelled");
    }

    #[tokio::test]
    async fn a_caller_past_its_limit_is_told_to_come_back() {
        let jobs = Jobs::new(1);
        let forever = || async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Value::Null)
        };
        let first = jobs.spawn(new("x"), forever()).unwrap();
        let Err(e) = jobs.spawn(new("x"), forever()) else {
            panic!("a second job of the same caller is refused");
        };
        assert_eq!(e.status, axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert!(e.retry_after.is_some());
        // Another caller is not held back.
        let other = NewJob {
            caller: "someone else".into(),
            ..new("x")
        };
        jobs.spawn(other, forever()).unwrap();
        first.cancel("done");
        first.finished().await;
        jobs.spawn(new("x"), forever()).unwrap();
    }
}
