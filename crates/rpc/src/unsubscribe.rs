//! `eth_unsubscribe` sent the moment a subscription's id arrives. jsonrpsee 0.26 writes the id
//! to the connection before it records the subscription (`PendingSubscriptionSink::accept`), so
//! such an unsubscribe can find nothing, answer `false` and leave the subscription pushing to a
//! client that asked it to stop. geth records first. Until jsonrpsee does, a `false` is asked
//! again for a moment before it stands.

use jsonrpsee::server::MethodResponse;
use jsonrpsee::server::middleware::rpc::{Batch, Notification, Request, RpcServiceT};
use std::future::Future;
use std::time::Duration;

/// How often, and how far apart, a `false` is asked again: the window is a task switch long;
/// an unknown id's answer comes 100 ms late.
const TRIES: u32 = 10;
const PAUSE: Duration = Duration::from_millis(10);

/// The RPC middleware: every call passes through, `eth_unsubscribe` answered `false` is retried.
#[derive(Clone)]
pub struct UnsubscribeAfterAccept<S>(pub S);

impl<S> RpcServiceT for UnsubscribeAfterAccept<S>
where
    S: RpcServiceT<MethodResponse = MethodResponse> + Clone + Send + Sync + 'static,
{
    type MethodResponse = S::MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let service = self.0.clone();
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

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        self.0.batch(batch)
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.0.notification(notification)
    }
}
