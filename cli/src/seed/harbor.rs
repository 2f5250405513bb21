//! What Harbor, the usual edge mirror, answers when a copy cannot land, and
//! what the operator does about it: the registry's words say what happened,
//! not what to change.

/// Advice for a refusal in Harbor's words, to follow them on the same line.
pub fn advice(cause: &str) -> Option<&'static str> {
    if cause.contains("can not push artifact to a proxy project") {
        return Some(
            "a proxy-cache project fills itself from its upstream and refuses pushes: seed into a regular project, and point the mapping's target at it",
        );
    }
    if cause.contains("configured as immutable") {
        return Some(
            "the mirror's tag is immutable and holds other content: remove the tag or its immutability rule, or seed into another project",
        );
    }
    if cause.starts_with("project ") && cause.ends_with(" not found") {
        return Some("create the project at the mirror first (Harbor does not create projects on push)");
    }
    None
}
