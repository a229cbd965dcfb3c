//! `eth_unsubscribe` sent the moment a subscription's id arrives. jsonrpsee 0.26 writes the id
//! to the connection before it records the subscription (`PendingSubscriptionSink::accept`), so
//! such an unsubscribe can find nothing, answer `false` and leave the subscription pushing to a
//! client that asked it to stop. geth records first. Until jsonrpsee does, a `false` is asked
//! again for a moment before it stands, alone or inside a batch.

use jsonrpsee::server::middleware::rpc::{Batch, BatchEntry, Notification, Request, RpcServiceT};
use jsonrpsee::server::{BatchResponseBuilder, MethodResponse};
use std::future::Future;
use std::time::Duration;

/// How often, and how far apart, a `false` is asked again: the window is a task switch long;
/// an unknown id's answer comes 100 ms late.
const TRIES: u32 = 10;
const PAUSE: Duration = Duration::from_millis(10);

/// The RPC middleware: every call passes through, `eth_unsubscribe` answered `false` is retried.
/// `max_response`: the server's limit on a response, which a batch answered here keeps.
#[derive(Clone)]
pub struct UnsubscribeAfterAccept<S> {
    pub service: S,
    pub max_response: usize,
}

impl<S> RpcServiceT for UnsubscribeAfterAccept<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = S::MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let service = self.service.clone();
        async move {
            if request.method_name() != "eth_unsubscribe" {
                return service.call(request).await;
            }
            let mut tries = 1;
            loop {
                let response = service.call(request.clone()).await;
                let refused = response.as_json().get().contains(r#""result":false"#);
                if !refused || tries == TRIES {
                    return response;
                }
                tries += 1;
                tokio::time::sleep(PAUSE).await;
            }
        }
    }

    /// A batch holding an `eth_unsubscribe` is answered here, entry by entry as jsonrpsee
    /// answers one, so that its unsubscribes go through [`Self::call`]; any other passes on.
    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        let this = self.clone();
        async move {
            let unsubscribes = batch.iter().any(|entry| {
                matches!(entry, Ok(BatchEntry::Call(request)) if request.method_name() == "eth_unsubscribe")
            });
            if !unsubscribes {
                return this.service.batch(batch).await;
            }
            let mut responses = BatchResponseBuilder::new_with_limit(this.max_response);
            let mut notified = false;
            for entry in batch.into_iter() {
                let response = match entry {
                    Ok(BatchEntry::Call(request)) => this.call(request).await,
                    Ok(BatchEntry::Notification(notification)) => {
                        notified = true;
                        this.service.notification(notification).await;
                        continue;
                    }
                    Err(error) => {
                        let (error, id) = error.into_parts();
                        MethodResponse::error(id, error)
                    }
                };
                if let Err(too_large) = responses.append(response) {
                    return too_large;
                }
            }
            if responses.is_empty() && notified {
                MethodResponse::notification()
            } else {
                MethodResponse::from_batch(responses.finish())
            }
        }
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.service.notification(notification)
    }
}
