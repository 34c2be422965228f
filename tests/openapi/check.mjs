// tests/openapi/check.mjs OPENAPI.json EXCHANGES.json — the independent half of tests/api.py:
// validates the OpenAPI document against the OpenAPI 3.1 schema
// (@seriousme/openapi-schema-validator), then every answer tests/api.py received against the
// document (ajv, JSON Schema 2020-12): its path and method are documented, its status is one
// of the operation's responses, and a JSON body matches that response's schema. Prints one line
// per problem and "N answers checked"; exits 1 when any.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const [docPath, exPath] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(docPath, "utf8"));
const exchanges = JSON.parse(readFileSync(exPath, "utf8"));
let bad = 0;

const validator = new Validator();
const res = await validator.validate(doc);
if (!res.valid) {
  console.log("the document is not valid OpenAPI " + validator.version + ": " + JSON.stringify(res.errors));
  bad++;
}
if (validator.version !== "3.1") {
  console.log("the document is OpenAPI " + validator.version + ", not 3.1");
  bad++;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: "doc", components: doc.components });
const refd = (s) => JSON.parse(JSON.stringify(s).replaceAll('"#/components/', '"doc#/components/'));

// path templates as regular expressions, literal paths first
const templates = Object.keys(doc.paths).map((p) => ({
  p,
  re: new RegExp("^" + p.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+") + "$"),
  literal: !p.includes("{"),
}));
templates.sort((a, b) => b.literal - a.literal);

const seen = new Set();
for (const x of exchanges) {
  const t = templates.find((t) => t.re.test(x.path));
  const where = `${x.method} ${x.path} ${x.status}`;
  if (!t) {
    if (x.status !== 404) { console.log(`${where}: the path is not documented`); bad++; }
    continue;
  }
  const op = doc.paths[t.p][x.method.toLowerCase()];
  if (!op) {
    if (x.status !== 405) { console.log(`${where}: the method is not documented`); bad++; }
    continue;
  }
  const r = op.responses[String(x.status)];
  if (!r) { console.log(`${where}: the status is not documented`); bad++; continue; }
  seen.add(`${x.method} ${t.p} ${x.status}`);
  const media = (x.type || "").split(";")[0].trim();
  if (!r.content) continue;
  const m = r.content[media];
  if (!m) { console.log(`${where}: media type ${media} not documented`); bad++; continue; }
  if (media !== "application/json") continue;
  let body;
  try { body = JSON.parse(x.body); } catch (e) { console.log(`${where}: not JSON`); bad++; continue; }
  const validate = ajv.compile(refd(m.schema));
  if (!validate(body)) {
    console.log(`${where}: ${ajv.errorsText(validate.errors)}: ${x.body.slice(0, 300)}`);
    bad++;
  }
}
console.log(`${exchanges.length} answers checked, ${seen.size} documented answers seen, ${bad} problems`);
process.exit(bad ? 1 : 0);
