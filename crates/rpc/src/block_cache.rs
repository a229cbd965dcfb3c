//! Recently read blocks, decoded once. A block's content never changes for its hash, so entries
//! never go stale; without this, each of a block's n receipts would decode all n (O(n²)).

use alloy_consensus::ReceiptEnvelope;
use alloy_primitives::{B256, map::HashMap};
use ankr_storage::{StoreError, StoreReader, StoredBody};
use ankr_types::Header;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

const CAPACITY: usize = 64;

pub struct CachedBlock {
    pub header: Header,
    pub body: StoredBody,
    pub receipts: Vec<ReceiptEnvelope>,
}

/// The cached blocks by hash, and their hashes oldest first (for eviction).
type Entries = (HashMap<B256, Arc<CachedBlock>>, VecDeque<B256>);

#[derive(Default)]
pub struct BlockCache {
    inner: Mutex<Entries>,
}

impl BlockCache {
    /// The block with this hash, from the cache or decoded from `reader`.
    pub fn get(
        &self,
        reader: &StoreReader,
        hash: B256,
    ) -> Result<Option<Arc<CachedBlock>>, StoreError> {
        if let Some(block) = self.inner.lock().expect("block cache lock").0.get(&hash) {
            return Ok(Some(block.clone()));
        }
        let Some(header) = reader.header(hash)? else {
            return Ok(None);
        };
        let block = Arc::new(CachedBlock {
            header,
            body: reader.body(hash)?.unwrap_or_default(),
            receipts: reader.receipts(hash)?.unwrap_or_default(),
        });
        let mut guard = self.inner.lock().expect("block cache lock");
        let (map, order) = &mut *guard;
        if map.insert(hash, block.clone()).is_none() {
            order.push_back(hash);
            if order.len() > CAPACITY
                && let Some(oldest) = order.pop_front()
            {
                map.remove(&oldest);
            }
        }
        Ok(Some(block))
    }
}
