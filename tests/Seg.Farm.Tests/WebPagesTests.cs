using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Playwright;

namespace Seg.Farm.Tests;

/// <summary>
/// The web pages in a real browser (Debian's chromium driven by Microsoft.Playwright) against a real coordinator and
/// worker on the real services, with a seeded sweep. One farm and one browser for the whole walk, to keep it short;
/// each page's screenshot is kept under TestResults/browser.
/// </summary>
public sealed class WebPagesTests
{
    private static readonly string Artifacts = Path.Combine(TestPaths.RepoRoot, "TestResults", "browser");

    // Three sigmas across, two SEG scales down, two seeds (fixed by a selector): 12 tiny images.
    private const string GridSweep = """
        name: web-grid
        model: tiny
        tags: {purpose: browser-test}
        prompts: ["a photo of a cat"]
        seeds: [1, 2]
        seg_scale: [0, 3]
        seg_blur_sigma: [1, 4, inf]
        guidance_scale: [5]
        steps: [2]
        size: ["64x64"]
        """;

    // Slow enough (512x512, 8 steps) that it is still running when the page pauses it.
    private const string SlowSweep = """
        name: web-slow
        model: tiny
        prompts: ["a slow cat"]
        seeds: {start: 1, count: 6}
        seg_scale: [3]
        steps: [8]
        size: ["512x512"]
        """;

    [Fact]
    public async Task The_pages_show_progress_the_grid_provenance_and_actions_in_chromium()
    {
        Directory.CreateDirectory(Artifacts);
        await using var farm = await Farm.StartAsync(workers: 1);
        var sweep = await farm.SubmitAsync(GridSweep);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium(),
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            Headless = true,
        });
        var baseUrl = farm.Http.BaseAddress!.ToString().TrimEnd('/');
        await using var admin = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUrl });
        var page = await admin.NewPageAsync();
        page.SetDefaultTimeout(30_000);

        // A page without a key goes to the sign-in form; the key is kept in an HttpOnly cookie.
        await page.GotoAsync("/");
        Assert.EndsWith("/signin", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
        await Shot(page, "signin");
        await SignInAsync(page, TestApiKeys.Admin);
        var cookie = (await admin.CookiesAsync()).Single(c => c.Name == "seg_key");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);

        // The list shows the sweep, and its progress reaches 100 %.
        var row = page.Locator($"tr[data-sweep='{sweep}']");
        var seen = new List<string>();
        await farm.WaitUntilAsync(async () =>
        {
            await page.GotoAsync("/");
            seen.Add(await row.Locator(".progress").InnerTextAsync());
            return seen[^1] == "100 %";
        }, TimeSpan.FromMinutes(3), "the list to show 100 %");
        Assert.Contains("web-grid", await row.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("succeeded", await row.Locator(".status").InnerTextAsync());
        await Shot(page, "sweeps");

        // The sweep page: counts, and the definition as submitted.
        await page.GotoAsync($"/sweeps/{sweep}");
        Assert.Equal("12", await page.Locator("[data-count='succeeded']").InnerTextAsync());
        Assert.Contains("web-grid", await page.Locator("#definition").InnerTextAsync(), StringComparison.Ordinal);
        await Shot(page, "sweep");

        // The sigma x scale grid: 2 x 3 cells with the right labels, each thumbnail the image whose provenance is the cell's.
        await page.GotoAsync($"/sweeps/{sweep}/grid?rows=seg_scale&cols=seg_blur_sigma&seeds=2");
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await Shot(page, "grid");
        Assert.Equal(["1", "4", "inf"], await page.Locator(".col-label").AllInnerTextsAsync());
        Assert.Equal(["0", "3"], await page.Locator(".row-label").AllInnerTextsAsync());
        var cells = page.Locator("td.cell");
        Assert.Equal(6, await cells.CountAsync());
        for (var i = 0; i < 6; i++)
        {
            var cell = cells.Nth(i);
            var taskId = Guid.Parse((await cell.GetAttributeAsync("data-task"))!);
            var img = cell.Locator("img");
            Assert.Equal($"/api/images/{taskId}/thumbnail", await img.GetAttributeAsync("src"));
            var stored = await farm.QueryAsync<string>(
                $"select seg_scale::text || ' ' || seg_blur_sigma::text || ' ' || seed::text from images where task_id = '{taskId}'");
            var values = stored.Single().Split(' ');
            Assert.Equal(Number(await cell.GetAttributeAsync("data-row")), Number(values[0]));
            Assert.Equal(Number(await cell.GetAttributeAsync("data-col")), Number(values[1]));
            Assert.Equal("2", values[2]);
            var alt = (await img.GetAttributeAsync("alt"))!;
            Assert.Contains($"seg_scale = {await cell.GetAttributeAsync("data-row")}", alt, StringComparison.Ordinal);
            Assert.Contains($"seg_blur_sigma = {await cell.GetAttributeAsync("data-col")}", alt, StringComparison.Ordinal);
            // A thumbnail made by the server (at most 256 pixels), not the full PNG scaled by the browser.
            var natural = await img.EvaluateAsync<int>("i => i.complete ? i.naturalWidth : -1");
            Assert.InRange(natural, 1, 256);
        }

        Assert.Equal(6, (await farm.BlobNamesAsync()).Count(n => n.StartsWith("thumbnails/", StringComparison.Ordinal)));
        // The keyboard walks the grid: right, then down.
        await cells.Nth(0).Locator("a").FocusAsync();
        await page.Keyboard.PressAsync("ArrowRight");
        await page.Keyboard.PressAsync("ArrowDown");
        Assert.Equal("1 1", await page.EvaluateAsync<string>("() => document.activeElement.dataset.r + ' ' + document.activeElement.dataset.c"));

        // The contact sheet: 2 x 3 cells of 256 pixels with the axis bands of ContactSheet's layout
        // (width 2*16 margin + 26 axis band + 90 row labels + 3*256 + 2*6 gaps; height 2*16 + 30 title + 26 + 24 column labels + 2*256 + 6).
        var sheetUrl = await page.Locator("#contact-sheet").GetAttributeAsync("href");
        var sheet = await page.APIRequest.GetAsync(sheetUrl!);
        Assert.Equal(200, sheet.Status);
        var png = await sheet.BodyAsync();
        await File.WriteAllBytesAsync(Path.Combine(Artifacts, "contact-sheet.png"), png);
        Assert.Equal((928, 630), (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20))));

        // The image page shows the database row's provenance, and the command that renders it again.
        var first = Guid.Parse((await cells.Nth(0).GetAttributeAsync("data-task"))!);
        await cells.Nth(0).Locator("a").ClickAsync();
        await page.WaitForURLAsync($"**/images/{first}");
        foreach (var field in new[] { "seed", "seg_scale", "seg_blur_sigma", "image_sha256", "worker_id", "device", "execution_provider", "software_version", "blob_name" })
        {
            var column = field == "seg_blur_sigma" ? "case when seg_blur_sigma = 'Infinity' then 'inf' else seg_blur_sigma::text end" : $"{field}::text";
            var expected = (await farm.QueryAsync<string>($"select {column} from images where task_id = '{first}'")).Single();
            Assert.Equal(Number(expected), Number(await page.Locator($"dd[data-field='{field}']").InnerTextAsync()));
        }

        Assert.StartsWith("seg render --model tiny --prompt 'a photo of a cat'", await page.Locator("#command").InnerTextAsync(), StringComparison.Ordinal);
        await page.Locator("#neighbours a", new() { HasText = "compare" }).First.ClickAsync();
        Assert.Equal(2, await page.Locator("#slider-box img").CountAsync());
        await page.Locator("#slider").FillAsync("20");
        Assert.Equal("20%", await page.Locator("#slider-top").EvaluateAsync<string>("e => e.style.width"));
        await Shot(page, "image");

        // Pause and resume from the sweep page change the sweep's state; cancel stops it.
        var slow = await farm.SubmitAsync(SlowSweep);
        await page.GotoAsync($"/sweeps/{slow}");
        await page.Locator("#actions button", new() { HasText = "pause" }).ClickAsync();
        Assert.Equal("paused", await StatusAsync(farm, slow));
        Assert.Contains("pause: done", await page.Locator(".notice").InnerTextAsync(), StringComparison.Ordinal);
        await Shot(page, "sweep-paused");
        await page.Locator("#actions button", new() { HasText = "resume" }).ClickAsync();
        Assert.Contains(await StatusAsync(farm, slow), new[] { "pending", "running" });
        await page.Locator("#actions button", new() { HasText = "cancel" }).ClickAsync();
        Assert.Equal("cancelled", await StatusAsync(farm, slow));

        await page.GotoAsync("/workers");
        Assert.Contains("worker-1", await page.Locator("#workers").InnerTextAsync(), StringComparison.Ordinal);
        await Shot(page, "workers");

        // A key without operate sees no actions, and a forged post without the page's token is refused.
        await using var reader = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUrl });
        var readerPage = await reader.NewPageAsync();
        await readerPage.GotoAsync("/");
        await SignInAsync(readerPage, TestApiKeys.Reader);
        Assert.Equal(0, await readerPage.Locator(".actions").CountAsync());
        await readerPage.GotoAsync($"/sweeps/{sweep}");
        Assert.Equal(0, await readerPage.Locator("#actions").CountAsync());
        await Shot(readerPage, "sweep-reader");
        var forged = await page.APIRequest.PostAsync($"/sweeps/{slow}?handler=Action&command=resume");
        Assert.Equal(400, forged.Status);
    }

    private static async Task SignInAsync(IPage page, string key)
    {
        await page.Locator("#key").FillAsync(key);
        await page.Locator("form button[type=submit]", new() { HasText = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync(url => !url.Contains("/signin", StringComparison.Ordinal));
    }

    private static async Task<string> StatusAsync(Farm farm, Guid sweep) =>
        (await farm.GetSweepAsync(sweep)).GetProperty("status").GetString()!;

    private static Task Shot(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Artifacts, $"{name}.png"), FullPage = true });

    /// <summary>A value as a number when it is one (so that <c>3</c> and <c>3.0</c> agree), else the text.</summary>
    private static string Number(string? text) =>
        text is "inf" or "Infinity" ? "inf"
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value.ToString("R", CultureInfo.InvariantCulture)
        : text ?? "";

    private static string Chromium()
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var path = Path.Combine(folder, "chromium");
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException("chromium is not installed (apt-get install chromium; scripts/test.sh installs it)");
    }

}
