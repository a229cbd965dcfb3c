//! The chain's Proof of Useful Work rules (DESIGN §4): the difficulty a block must carry, the
//! seal check against `EnclaveRegistry`, the compromised-enclave defences, and block
//! templates for miners (built-in or external through `ankr_getBlockTemplate`).

use crate::{Chain, ChainError, ImportError};
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolCall;
use ankr_contracts::EnclaveRegistry;
use ankr_contracts::genesis::ENCLAVE_REGISTRY;
use ankr_execution::{BlockContext, system_call};
use ankr_pouw::PouwSeal;
use ankr_pouw::defences::{DefenceParams, WindowBlock};
use ankr_pouw::difficulty::{Anchor, next_difficulty};
use ankr_storage::StateReader;
use ankr_types::{Header, SealKind};

/// What one block contributes to a defence window, cached by block hash.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WindowEntry {
    number: u64,
    parent_hash: B256,
    timestamp: u64,
    difficulty: U256,
    platform: Option<B256>,
}

impl WindowEntry {
    fn of(header: &Header) -> Self {
        Self {
            number: header.number,
            parent_hash: header.parent_hash,
            timestamp: header.timestamp,
            difficulty: header.difficulty,
            platform: (header.seal.kind == SealKind::UsefulWork)
                .then(|| {
                    PouwSeal::decode(&header.seal.proof)
                        .ok()
                        .map(|s| s.platform_id)
                })
                .flatten(),
        }
    }
}

/// What the registry says about an enclave at a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnclaveStatus {
    pub live: bool,
    pub platform_id: B256,
    pub expires_at: u64,
}

impl Chain {
    /// The difficulty the block after `parent` must carry: the genesis difficulty for block 1
    /// (the ASERT anchor), ASERT from block 1 of `parent`'s branch after that.
    pub fn next_difficulty(&self, parent: &Header) -> Result<U256, ChainError> {
        if parent.number == 0 {
            return Ok(parent.difficulty);
        }
        let anchor = self.branch_block_one(parent)?;
        Ok(next_difficulty(
            Anchor {
                height: anchor.number,
                timestamp: anchor.timestamp,
                difficulty: anchor.difficulty,
            },
            parent.number,
            parent.timestamp,
            self.spec.target_block_time_ms,
            self.spec.pouw.difficulty_halflife_ms,
        ))
    }

    /// Block 1 of the branch that ends at `header`: the canonical one if `header` is
    /// canonical, else found by walking back its parents.
    fn branch_block_one(&self, header: &Header) -> Result<Header, ChainError> {
        let reader = self.reader()?;
        let mut cursor = header.clone();
        while cursor.number > 1 {
            if reader.canonical_hash(cursor.number)? == Some(cursor.hash()) {
                return Ok(reader
                    .header_by_number(1)?
                    .expect("a canonical chain past block 1 has block 1"));
            }
            cursor = reader
                .header(cursor.parent_hash)?
                .ok_or(ankr_storage::StoreError::MissingBlock(cursor.parent_hash))?;
        }
        Ok(cursor)
    }

    /// The registry's address, if this chain has one.
    pub fn enclave_registry(&self) -> Option<Address> {
        self.spec.system_contracts.get(ENCLAVE_REGISTRY).copied()
    }

    fn registry_call(
        &self,
        state: &StateReader,
        block: &BlockContext,
        input: Vec<u8>,
    ) -> Result<alloy_primitives::Bytes, ImportError> {
        let registry = self
            .enclave_registry()
            .ok_or(ImportError::NoEnclaveRegistry)?;
        Ok(
            system_call(state, &self.config, block, registry, input.into())
                .map_err(|e| ChainError::system_call("EnclaveRegistry")(e.into()))?,
        )
    }

    /// Whether `enclave` may seal block `number`, read from `state` (the parent's).
    pub fn enclave_status(
        &self,
        state: &StateReader,
        block: &BlockContext,
        enclave: Address,
    ) -> Result<EnclaveStatus, ImportError> {
        let call = EnclaveRegistry::isLiveCall {
            enclave,
            blockNumber: U256::from(block.number),
        };
        let output = self.registry_call(state, block, call.abi_encode())?;
        let status = EnclaveRegistry::isLiveCall::abi_decode_returns(&output)
            .map_err(|e| ChainError::system_call("EnclaveRegistry")(e.into()))?;
        Ok(EnclaveStatus {
            live: status.live,
            platform_id: status.platformId,
            expires_at: status.expiresAt.saturating_to(),
        })
    }

    /// Every platform in the registry with its current enclave and that enclave's status at
    /// the next block, read from the head state.
    pub fn registered_enclaves(&self) -> Result<Vec<(B256, Address, EnclaveStatus)>, ImportError> {
        let state = self.reader()?.state()?;
        let head = self.head();
        let mut block = BlockContext::of(&head);
        block.number += 1;
        let output = self.registry_call(
            &state,
            &block,
            EnclaveRegistry::allPlatformsCall {}.abi_encode(),
        )?;
        let all = EnclaveRegistry::allPlatformsCall::abi_decode_returns(&output)
            .map_err(|e| ChainError::system_call("EnclaveRegistry")(e.into()))?;
        all.ids
            .into_iter()
            .zip(all.enclaves)
            .map(|(platform, enclave)| {
                Ok((
                    platform,
                    enclave,
                    self.enclave_status(&state, &block, enclave)?,
                ))
            })
            .collect()
    }

    /// The defence window ending with `header` (on its own branch): each block's interval and
    /// difficulty, and how many of them `platform` sealed, `header` included. Walks back by
    /// parent hash through a cache of what each block contributes, so a window of thousands
    /// of blocks costs microseconds per import, not a header read per block.
    pub fn defence_window(
        &self,
        platform: B256,
        header: &Header,
    ) -> Result<(Vec<WindowBlock>, u64), ChainError> {
        let window = self.spec.pouw.defence_window;
        // Block 1's parent is genesis, whose stamp is the spec's, not a time anyone mined
        // from: block 1 counts as one target block time.
        let first_interval = self.spec.target_block_time_ms.div_ceil(1000);
        let mut entries = Vec::with_capacity(window.min(header.number) as usize);
        let mut cursor = WindowEntry::of(header);
        let reader = self.reader()?;
        let mut cache = self.window_cache.lock().expect("window cache lock");
        if cache.len() > 4 * window as usize + 1024 {
            cache.clear();
        }
        while entries.len() < window as usize && cursor.number >= 1 {
            let parent = match cache.get(&cursor.parent_hash) {
                Some(parent) => *parent,
                None => {
                    let parent = reader
                        .header(cursor.parent_hash)?
                        .ok_or(ankr_storage::StoreError::MissingBlock(cursor.parent_hash))?;
                    let entry = WindowEntry::of(&parent);
                    cache.insert(cursor.parent_hash, entry);
                    entry
                }
            };
            let interval = if cursor.number == 1 {
                first_interval
            } else {
                cursor.timestamp.saturating_sub(parent.timestamp)
            };
            entries.push((
                WindowBlock {
                    interval_seconds: interval,
                    difficulty: cursor.difficulty,
                },
                cursor.platform,
            ));
            cursor = parent;
        }
        entries.reverse();
        // The header's own win, and the earlier ones.
        let earlier = &entries[..entries.len().saturating_sub(1)];
        let wins = earlier
            .iter()
            .filter(|(_, sealer)| *sealer == Some(platform))
            .count() as u64
            + 1;
        Ok((entries.into_iter().map(|(block, _)| block).collect(), wins))
    }

    /// The PoUW rules of `header` on the head (its difficulty is checked with the other
    /// header rules): the seal re-checked with its tickets capped, its enclave live and on its
    /// platform in the head state's registry, and the rate cap (DESIGN §4.5).
    pub(crate) fn check_useful_work(&self, header: &Header) -> Result<(), ImportError> {
        let seal = PouwSeal::decode(&header.seal.proof)?;
        seal.verify_within(
            header.template_hash(),
            header.difficulty,
            self.spec.pouw.max_subtask_tickets,
        )?;

        let state = self.reader()?.state()?;
        let block = BlockContext::of(header);
        let status = self.enclave_status(&state, &block, seal.enclave)?;
        if !status.live {
            return Err(ImportError::EnclaveNotLive {
                enclave: seal.enclave,
                expires_at: status.expires_at,
            });
        }
        if status.platform_id != seal.platform_id {
            return Err(ImportError::WrongPlatform {
                sealed: seal.platform_id,
                registered: status.platform_id,
            });
        }
        self.check_rate_cap(seal.platform_id, header)
    }

    /// The rate cap (DESIGN §4.5) of `platform` sealing `header`, over `header`'s own branch:
    /// the same rule for the head and for side blocks.
    pub(crate) fn check_rate_cap(
        &self,
        platform: B256,
        header: &Header,
    ) -> Result<(), ImportError> {
        let (window, wins) = self
            .defence_window(platform, header)
            .map_err(ImportError::from)?;
        DefenceParams::from_spec(&self.spec.pouw).check(wins, &window)?;
        Ok(())
    }
}
