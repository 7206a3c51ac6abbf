// The auditor's check in the browser, step for step as `flexmarket audit verify` does it
// (ledger/audit/proof.py and verify.py): the event's hash from its canonical JSON
// (RFC 8785), its leaf at its Kafka offset, the RFC 9162 path to the batch's root, and then
// the chain's own answer: EventAnchor.rootOf for exactly that batch, and the transaction's
// BatchAnchored log. Nothing here trusts the API that served the proof.
(function (global) {
  "use strict";
  const { keccak256, toHex, fromHex, concat, utf8, keccakHex } = global.FlexHash;

  /** RFC 8785: sorted keys (UTF-16 order, JavaScript's own), ECMAScript numbers. */
  function canonical(value) {
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }

  const nodeHash = (left, right) => keccak256(concat(Uint8Array.of(1), left, right));

  function offsetBytes(offset) {
    const out = new Uint8Array(8);
    let rest = BigInt(offset);
    for (let i = 7; i >= 0; i--) { out[i] = Number(rest & 0xffn); rest >>= 8n; }
    return out;
  }

  /** The root a leaf and its inclusion path lead to (RFC 9162 2.1.3.2). */
  function rootFromPath(leaf, index, size, path) {
    if (!(index >= 0 && index < size)) throw new Error(`leaf ${index} is outside a tree of ${size}`);
    let fn = index, sn = size - 1, node = leaf;
    for (const sibling of path) {
      if (sn === 0) throw new Error("the path is longer than the tree is deep");
      if (fn & 1 || fn === sn) {
        node = nodeHash(sibling, node);
        while (!(fn & 1) && fn !== 0) { fn >>= 1; sn >>= 1; }
      } else {
        node = nodeHash(node, sibling);
      }
      fn >>= 1; sn >>= 1;
    }
    if (sn !== 0) throw new Error("the path is shorter than the tree is deep");
    return node;
  }

  // ABI words, for the one call and the one log read here.
  const word = (n) => BigInt(n).toString(16).padStart(64, "0");
  function abiString(text) {
    const bytes = utf8(text);
    const hex = toHex(bytes).slice(2);
    return word(bytes.length) + hex.padEnd(Math.ceil(hex.length / 64) * 64, "0");
  }

  async function rpc(url, method, params) {
    const answer = await fetch(url, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = await answer.json();
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  }

  const ANCHORED = keccakHex("BatchAnchored(bytes32,string,uint32,uint64,uint64,uint32,bytes32)");
  const ROOT_OF = keccakHex("rootOf(string,uint32,uint64,uint64,uint32)").slice(0, 10);

  function decodeAnchored(data) {
    const words = data.slice(2).match(/.{64}/g) || [];
    const at = Number(BigInt("0x" + words[0])) / 32;
    const length = Number(BigInt("0x" + words[at]));
    const topicHex = words.slice(at + 1).join("").slice(0, 2 * length);
    return {
      topic: new TextDecoder().decode(fromHex(topicHex)),
      partition: Number(BigInt("0x" + words[1])), first: Number(BigInt("0x" + words[2])),
      last: Number(BigInt("0x" + words[3])), count: Number(BigInt("0x" + words[4])),
      root: "0x" + words[5],
    };
  }

  /**
   * Check `proof` (the API's EventProof JSON) on its own, then against EventAnchor at
   * `anchor` on the chain at `chainUrl`. Returns {ok, steps: [{ok, text}]}.
   */
  async function verifyProof(proof, chainUrl, anchor) {
    const steps = [];
    const pass = (text) => { steps.push({ ok: true, text }); };
    const fail = (text) => { steps.push({ ok: false, text }); return { ok: false, steps }; };
    const { event, position, batch } = proof;
    const { hash, ...hashed } = event;
    if (keccakHex(canonical(hashed)) !== hash) {
      return fail("the event's hash is not the hash of its content: it was altered");
    }
    pass(`event hash ${hash.slice(0, 18)}… is the keccak-256 of its canonical JSON`);
    if (position.topic !== batch.topic || position.partition !== batch.partition ||
        position.offset < batch.first_offset || position.offset > batch.last_offset) {
      return fail("the event's position is outside the batch");
    }
    if (batch.count !== batch.last_offset - batch.first_offset + 1) {
      return fail("the batch's count is not the length of its range");
    }
    const leaf = keccak256(concat(Uint8Array.of(0), offsetBytes(position.offset),
                                  utf8(canonical(event))));
    if (toHex(leaf) !== proof.leaf) return fail("the leaf is not this event at this offset");
    let root;
    try {
      root = toHex(rootFromPath(leaf, proof.leaf_index, batch.count, proof.path.map(fromHex)));
    } catch (error) {
      return fail(`the path does not fit the batch: ${error.message}`);
    }
    if (root !== batch.root) return fail("the path leads to another root than the batch's");
    pass(`leaf ${proof.leaf_index + 1} of ${batch.count} and ${proof.path.length} sibling ` +
         `hashes lead to root ${root.slice(0, 18)}…`);
    if (batch.contract.toLowerCase() !== anchor.toLowerCase()) {
      return fail(`the proof names contract ${batch.contract}, not the EventAnchor you trust`);
    }
    try {
      const chainId = Number(BigInt(await rpc(chainUrl, "eth_chainId", [])));
      if (chainId !== batch.chain_id) {
        return fail(`${chainUrl} is chain ${chainId}, the proof says ${batch.chain_id}`);
      }
      const call = ROOT_OF + word(160) + word(batch.partition) + word(batch.first_offset) +
        word(batch.last_offset) + word(batch.count) + abiString(batch.topic);
      const onChain = await rpc(chainUrl, "eth_call", [{ to: anchor, data: call }, "latest"]);
      if (BigInt(onChain) === 0n) return fail("the chain has no such batch anchored");
      if (onChain.toLowerCase() !== root) {
        return fail(`the chain anchored root ${onChain.slice(0, 18)}… for that batch`);
      }
      pass(`EventAnchor ${anchor.slice(0, 10)}… holds that root for ${batch.topic}/` +
           `${batch.partition} ${batch.first_offset}..${batch.last_offset}`);
      const receipt = await rpc(chainUrl, "eth_getTransactionReceipt", [batch.tx_hash]);
      const logged = (receipt ? receipt.logs : []).filter(
        (log) => log.address.toLowerCase() === anchor.toLowerCase() && log.topics[0] === ANCHORED)
        .map((log) => decodeAnchored(log.data));
      if (!logged.some((b) => b.topic === batch.topic && b.partition === batch.partition &&
                       b.first === batch.first_offset && b.last === batch.last_offset &&
                       b.count === batch.count && b.root === root)) {
        return fail(`transaction ${batch.tx_hash.slice(0, 18)}… did not anchor that batch`);
      }
      pass(`transaction ${batch.tx_hash.slice(0, 18)}… (block ` +
           `${Number(BigInt(receipt.blockNumber))}) anchored it`);
    } catch (error) {
      return fail(`the chain at ${chainUrl} could not confirm it: ${error.message}`);
    }
    return { ok: true, steps };
  }

  global.FlexVerify = { canonical, rootFromPath, verifyProof };
})(typeof window !== "undefined" ? window : globalThis);
