//! How a failed command says why: each cause once. Errors that name their cause in their
//! own message (thiserror's `{source}`) also hand it on as their source, and anyhow's own
//! report then printed it twice ("cannot serve JSON-RPC on …: Address already in use",
//! then "Caused by: Address already in use").

/// The error and those of its causes that its messages have not said already (a message
/// that ends with the cause's text), in anyhow's layout (`Error: …`, then `Caused by:`).
pub fn describe(error: &anyhow::Error) -> String {
    let mut said = vec![error.to_string()];
    let mut causes = Vec::new();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !said.iter().any(|message| message.ends_with(&text)) {
            causes.push(text.clone());
        }
        said.push(text);
    }
    let mut report = format!("Error: {error}");
    match causes.as_slice() {
        [] => {}
        [only] => report.push_str(&format!("\n\nCaused by:\n    {only}")),
        many => {
            report.push_str("\n\nCaused by:");
            for (index, cause) in many.iter().enumerate() {
                report.push_str(&format!("\n    {index}: {cause}"));
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::describe;
    use anyhow::Context;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot serve JSON-RPC on 127.0.0.1:8545: {source}")]
    struct Serve {
        source: std::io::Error,
    }

    fn in_use() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::AddrInUse, "Address already in use")
    }

    #[test]
    fn a_cause_the_message_already_names_is_not_repeated() {
        let error = anyhow::Error::new(Serve { source: in_use() });
        assert_eq!(
            describe(&error),
            "Error: cannot serve JSON-RPC on 127.0.0.1:8545: Address already in use"
        );
    }

    #[test]
    fn causes_the_messages_do_not_name_are_listed_in_order() {
        let error = Err::<(), _>(in_use())
            .context("opening the node")
            .context("starting the devnet")
            .unwrap_err();
        assert_eq!(
            describe(&error),
            "Error: starting the devnet\n\nCaused by:\n    0: opening the node\n    1: Address already in use"
        );
        let named_below_context = anyhow::Error::new(Serve { source: in_use() }).context("node 1");
        let inside_a_message = Err::<(), _>(std::io::Error::other("in use"))
            .context("the port in use was 8545")
            .unwrap_err();
        assert_eq!(
            describe(&inside_a_message),
            "Error: the port in use was 8545\n\nCaused by:\n    in use",
            "only a message's tail counts as naming its cause"
        );
        assert_eq!(
            describe(&named_below_context),
            "Error: node 1\n\nCaused by:\n    cannot serve JSON-RPC on 127.0.0.1:8545: Address already in use"
        );
    }
}
