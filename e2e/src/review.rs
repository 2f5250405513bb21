//! One admission request evaluated as policy-server evaluates it, and the
//! answer in the two shapes people read: a typed outcome and the
//! AdmissionResponse `kwctl run` prints.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
// Standard base64 with padding, as the AdmissionResponse's `patch` field is encoded.
use base64::engine::general_purpose::STANDARD as BASE64;
use json_patch::Patch;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::host::Policy;

/// What policy-server would answer for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The request as evaluated (an AdmissionReview's `request`).
    pub request: Value,
    pub outcome: Outcome,
    /// The policy's `audit_annotations`, which the API server writes to its
    /// audit log under the webhook's name.
    pub audit_annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `validate_settings` refused the settings; the request never reaches `validate`.
    InvalidSettings(String),
    Accepted {
        patch: Option<Patch>,
        warnings: Vec<String>,
    },
    /// Refused by the policy (with the `code` it gave, if any), or by
    /// policy-server when the guest failed (code 500).
    Rejected {
        message: String,
        code: Option<u16>,
        warnings: Vec<String>,
    },
}

/// The `validate` response; `mutated_object` stays a tree, as policy-server reads it.
#[derive(Deserialize)]
struct ValidationResponse {
    accepted: bool,
    message: Option<String>,
    code: Option<u16>,
    mutated_object: Option<Value>,
    audit_annotations: Option<BTreeMap<String, String>>,
    warnings: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct SettingsResponse {
    valid: bool,
    message: Option<String>,
}

impl Policy {
    /// Evaluates `input` (an AdmissionRequest or an AdmissionReview, like
    /// `kwctl run` accepts) under `settings`.
    pub fn evaluate(&self, settings: &Value, input: &Value) -> Result<Evaluation> {
        let request = admission_request(input)?.clone();
        let version = self.call("protocol_version", b"")?;
        if version != br#""v1""# {
            bail!("unsupported protocol version {}", String::from_utf8_lossy(&version));
        }
        let answer: SettingsResponse = serde_json::from_slice(&self.call("validate_settings", &to_vec(settings))?)
            .context("validate_settings answered something else than a settings response")?;
        if !answer.valid {
            let message = answer.message.unwrap_or_default();
            let outcome = Outcome::InvalidSettings(message);
            return Ok(Evaluation { request, outcome, audit_annotations: BTreeMap::new() });
        }
        let payload = to_vec(&json!({ "request": request, "settings": settings }));
        let answer = match self.call("validate", &payload) {
            Ok(answer) => answer,
            // policy-server answers a failed guest with a rejection, not an error of its own.
            Err(e) => {
                let message = e.root_cause().to_string();
                return Ok(Evaluation {
                    request,
                    outcome: Outcome::Rejected { message, code: Some(500), warnings: vec![] },
                    audit_annotations: BTreeMap::new(),
                });
            }
        };
        let response: ValidationResponse =
            serde_json::from_slice(&answer).context("validate answered something else than a validation response")?;
        let warnings = response.warnings.unwrap_or_default();
        let outcome = match response.accepted {
            true => Outcome::Accepted { patch: patch(&request, response.mutated_object.as_ref()), warnings },
            false => Outcome::Rejected { message: response.message.unwrap_or_default(), code: response.code, warnings },
        };
        Ok(Evaluation { request, outcome, audit_annotations: response.audit_annotations.unwrap_or_default() })
    }
}

/// The request inside an AdmissionReview, or the input itself.
pub fn admission_request(input: &Value) -> Result<&Value> {
    match input.get("request") {
        Some(request) if request.is_object() => Ok(request),
        _ if input.get("operation").is_some() => Ok(input),
        _ => bail!("the input is neither an AdmissionReview nor an AdmissionRequest"),
    }
}

/// What policy-server sends the API server: the difference between the
/// admitted object and the mutated one; nothing when they are equal.
fn patch(request: &Value, mutated: Option<&Value>) -> Option<Patch> {
    let diff = json_patch::diff(request.get("object").unwrap_or(&Value::Null), mutated?);
    (!diff.0.is_empty()).then_some(diff)
}

fn to_vec(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

impl Evaluation {
    pub fn patch(&self) -> Option<&Patch> {
        match &self.outcome {
            Outcome::Accepted { patch, .. } => patch.as_ref(),
            _ => None,
        }
    }

    /// The patch as JSON (`[]` when there is none), for exact assertions.
    pub fn patch_json(&self) -> Value {
        self.patch().map_or(json!([]), |patch| serde_json::to_value(patch).unwrap_or_default())
    }

    /// The object the API server would store: the request's object with the patch applied.
    pub fn patched_object(&self) -> Result<Value> {
        let mut object = self.request.get("object").cloned().unwrap_or(Value::Null);
        if let Some(patch) = self.patch() {
            json_patch::patch(&mut object, patch).context("the patch does not apply to the object")?;
        }
        Ok(object)
    }

    /// The AdmissionResponse `kwctl run` prints (policy-evaluator copies the
    /// audit annotations into it as they are).
    pub fn admission_response(&self) -> Value {
        let mut response = self.admission_response_without_annotations();
        if !self.audit_annotations.is_empty() {
            response["auditAnnotations"] = json!(self.audit_annotations);
        }
        response
    }

    fn admission_response_without_annotations(&self) -> Value {
        let uid = self.request.get("uid").cloned().unwrap_or(Value::Null);
        match &self.outcome {
            Outcome::InvalidSettings(message) => json!({ "uid": uid, "allowed": false,
                "status": { "message": format!("Provided settings are not valid: {message}"), "code": 400 } }),
            Outcome::Accepted { patch, warnings } => {
                let mut response = json!({ "uid": uid, "allowed": true });
                if let Some(patch) = patch {
                    response["patchType"] = json!("JSONPatch");
                    response["patch"] = json!(BASE64.encode(serde_json::to_vec(patch).unwrap_or_default()));
                }
                with_warnings(response, warnings)
            }
            Outcome::Rejected { message, code, warnings } => {
                let mut status = json!({ "message": message });
                if let Some(code) = code {
                    status["code"] = json!(code);
                }
                with_warnings(json!({ "uid": uid, "allowed": false, "status": status }), warnings)
            }
        }
    }
}

fn with_warnings(mut response: Value, warnings: &[String]) -> Value {
    if !warnings.is_empty() {
        response["warnings"] = json!(warnings);
    }
    response
}
