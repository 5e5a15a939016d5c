// The client side of DESIGN §3: a credential's Ed25519 key (WebCrypto), its key id, and
// the signed envelope {command, signer, signature} that POST /api/v1/commands takes.
import { canonicalize } from "./jcs.js";

const SIGNING_PREFIX = "appraisal-command/v1\n";
// PKCS#8 wrapping of a raw 32-byte Ed25519 private key (RFC 8410), for importKey.
const PKCS8_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

export function b64urlDecode(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

export function b64urlEncode(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

// A signer from the slip's raw private key: {sign(command) -> envelope, keyId, publicKey}.
export async function credentialSigner(rawPrivateKey) {
  if (rawPrivateKey.length !== 32) throw new Error("a credential key is 32 bytes");
  const pkcs8 = new Uint8Array([...PKCS8_PREFIX, ...rawPrivateKey]);
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  const publicKey = (await crypto.subtle.exportKey("jwk", key)).x;
  const digest = await crypto.subtle.digest("SHA-256", b64urlDecode(publicKey));
  const keyId = hex(digest.slice(0, 16));
  return {
    keyId,
    publicKey,
    async seal(command) {
      const input = new TextEncoder().encode(SIGNING_PREFIX + canonicalize(command));
      const signature = await crypto.subtle.sign({ name: "Ed25519" }, key, input);
      return { command, signer: keyId, signature: b64urlEncode(signature) };
    },
  };
}
