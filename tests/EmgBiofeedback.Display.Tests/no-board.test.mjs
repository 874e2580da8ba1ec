// The pages when the service runs but its board was never plugged in (a serial port configured that does not exist):
// the service answers, so neither page may say "Connecting to the service…" for ever. The patient view says in its
// link line and in large words where the bars would be that the board is not connected; the clinician view's link
// line says the same. When the service then goes away, both say it is unreachable instead.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, launchBrowser, outputDir, startServer, stopServer, tempFolder } from "./lib/harness.mjs";

let grpcPort, browserPort, folder, server, browser;

describe("no board", () => {
  before(async () => {
    mkdirSync(outputDir, { recursive: true });
    [grpcPort, browserPort] = [await freePort(), await freePort()];
    folder = tempFolder("emg-display-noboard-");
    server = await startServer({ grpcPort, browserPort, folder, extraArgs: ["--Acquisition:Serial:PortName=/dev/emg-no-such-board"] });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await stopServer(server);
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it("the patient view says the board is not connected, in the link line and where the bars would be", async () => {
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${browserPort}/`);
    await page.waitForFunction(() => document.body.dataset.link === "stale", null, { timeout: 10000 });
    assert.equal(await page.$eval("#link", (e) => e.textContent), "Board disconnected — no signal");
    assert.match(await page.$eval("#muscles-empty", (e) => e.textContent), /sensor board is not connected/);
    assert.equal(await page.$$eval(".bar", (bs) => bs.length), 0, "no bars without a frame");
    await page.screenshot({ path: join(outputDir, "no-board-patient.png"), fullPage: true });
    // Held, not a passing state: five more seconds of the same.
    await page.waitForTimeout(5000);
    assert.equal(await page.evaluate(() => document.body.dataset.link), "stale");
    await page.close();
  });

  it("the clinician view's link line says the board is not connected", async () => {
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${browserPort}/clinician`);
    await page.waitForFunction(() => document.body.dataset.link === "stale", null, { timeout: 10000 });
    assert.equal(await page.$eval("#link", (e) => e.textContent), "Board disconnected — no signal");
    await page.screenshot({ path: join(outputDir, "no-board-clinician.png"), fullPage: true });
    await page.close();
  });

  it("when the service then goes away, the patient view says it is unreachable, in both places", async () => {
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${browserPort}/`);
    await page.waitForFunction(() => document.body.dataset.link === "stale", null, { timeout: 10000 });
    await stopServer(server, "SIGKILL");
    await page.waitForFunction(() => document.body.dataset.link === "unreachable", null, { timeout: 5000 });
    assert.match(await page.$eval("#link", (e) => e.textContent), /unreachable/);
    assert.match(await page.$eval("#muscles-empty", (e) => e.textContent), /unreachable/);
    await page.close();
  });
});
