//! Answering peers' sync requests, in a task of its own: reading a range of blocks from the
//! store must not hold up the network loop (gossip, imports, our own sync).

use crate::sync::{BlocksRequest, BlocksResponse, MAX_BLOCKS_PER_RESPONSE, SOFT_RESPONSE_BYTES};
use ankr_chain::Chain;
use ankr_types::Block;
use libp2p::request_response::ResponseChannel;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Serves `requests` one after another, handing each answer back to the network loop.
pub(crate) async fn serve_peers(
    chain: Arc<Chain>,
    mut requests: mpsc::Receiver<(BlocksRequest, ResponseChannel<BlocksResponse>)>,
    served: mpsc::Sender<(ResponseChannel<BlocksResponse>, BlocksResponse)>,
) {
    while let Some((request, channel)) = requests.recv().await {
        let chain = chain.clone();
        let Ok(response) = tokio::task::spawn_blocking(move || serve(&chain, &request)).await
        else {
            continue;
        };
        if served.send((channel, response)).await.is_err() {
            return;
        }
    }
}

/// Canonical blocks from `request.from`: at most [`MAX_BLOCKS_PER_RESPONSE`], and no more
/// once [`SOFT_RESPONSE_BYTES`] are reached.
pub(crate) fn serve(chain: &Chain, request: &BlocksRequest) -> BlocksResponse {
    let head = chain.head().number;
    let mut blocks = Vec::new();
    let mut bytes = 0;
    if let Ok(reader) = chain.reader() {
        let last = head.min(
            request
                .from
                .saturating_add(request.count.min(MAX_BLOCKS_PER_RESPONSE))
                .saturating_sub(1),
        );
        for number in request.from..=last {
            let Ok(Some(header)) = reader.header_by_number(number) else {
                break;
            };
            let Ok(Some(body)) = reader.body(header.hash()) else {
                break;
            };
            let raw = alloy_rlp::encode(Block {
                header,
                transactions: body.transactions,
            });
            bytes += raw.len();
            blocks.push(serde_bytes::ByteBuf::from(raw));
            if bytes >= SOFT_RESPONSE_BYTES {
                break;
            }
        }
    }
    BlocksResponse { blocks, head }
}
