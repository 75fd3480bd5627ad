// Test helper: signs a JWT with the running provider's key (from IDP_KEY_FILE), so tests can
// present tokens with a wrong issuer, audience or expiry that are otherwise genuine.
// Usage: node mint.mjs KEY_FILE '{"sub":"alice","aud":"pilothouse",...}'   → prints the token
import { readFileSync } from 'node:fs';
import { importJWK, SignJWT } from 'jose';

const [keyFile, claimsJson] = process.argv.slice(2);
const { key } = JSON.parse(readFileSync(keyFile, 'utf8'));
const claims = JSON.parse(claimsJson);
const privateKey = await importJWK(key, 'RS256');
const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(privateKey);
process.stdout.write(token);
