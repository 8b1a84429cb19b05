using System.Net;
using System.Text.Json;
using Seg.Coordinator.Auth;

namespace Seg.Coordinator.Tests;

/// <summary>
/// The pages' key cookie: accepted for pages and reads, never for an API call that changes something (a cookie rides
/// along with every request, so such calls must carry the key in a header); page forms need their anti-forgery token;
/// grid queries that name no swept field are refused naming the parameter.
/// </summary>
public sealed class WebCookieTests(DefaultCoordinatorFixture app) : IClassFixture<DefaultCoordinatorFixture>
{
    private const string Sweep = "model: m\nprompts: [a cat]\nseeds: [1, 2]\nseg_scale: [0, 3]\n";

    [Fact]
    public async Task The_cookie_opens_pages_and_reads_but_not_api_commands_and_forms_need_their_token()
    {
        var sweep = await app.SubmitAsync(Sweep);
        using var client = app.CreateClient(null);
        client.DefaultRequestHeaders.Add("Cookie", $"{ApiKeyAuthenticationHandler.KeyCookie}={TestApiKeys.Admin}");

        using var page = await client.GetAsync($"/sweeps/{sweep}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal($"/sweeps/{sweep}", page.RequestMessage!.RequestUri!.AbsolutePath);
        using var read = await client.GetAsync($"/api/sweeps/{sweep}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);

        using var command = await client.PostAsync($"/api/sweeps/{sweep}/pause", null);
        Assert.Equal(HttpStatusCode.Unauthorized, command.StatusCode);
        using var forged = await client.PostAsync($"/sweeps/{sweep}?handler=Action&command=pause", null);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        // Neither call paused it (the dispatcher may have started it meanwhile: pending or running).
        Assert.NotEqual("paused", (await app.GetJsonAsync($"/api/sweeps/{sweep}")).GetProperty("status").GetString());

        using var wrong = app.CreateClient(null);
        wrong.DefaultRequestHeaders.Add("Cookie", $"{ApiKeyAuthenticationHandler.KeyCookie}=not-a-key-of-this-farm-at-all");
        using var refused = await wrong.GetAsync("/workers");
        Assert.Equal(ApiKeyAuthenticationHandler.SignInPath, refused.RequestMessage!.RequestUri!.AbsolutePath);
    }

    [Fact]
    public async Task A_grid_of_an_unknown_field_is_refused_naming_the_parameter()
    {
        var sweep = await app.SubmitAsync(Sweep);
        using var response = await app.Client.GetAsync($"/api/sweeps/{sweep}/grid.png?rows=steps&cols=seg_scale");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
        Assert.Contains("must be one of the swept fields seeds, seg_scale (got 'steps')", errors.GetProperty("rows")[0].GetString(), StringComparison.Ordinal);

        using var sheet = await app.Client.GetAsync($"/api/sweeps/{sweep}/grid.png?rows=seeds&cols=seg_scale");
        Assert.Equal(HttpStatusCode.OK, sheet.StatusCode);
        Assert.Equal("image/png", sheet.Content.Headers.ContentType?.MediaType);
    }
}
