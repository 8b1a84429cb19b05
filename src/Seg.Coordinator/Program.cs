using Seg.Coordinator.Apis;
using Seg.Coordinator.Extensions;
using Seg.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddSegServiceDefaults("seg-coordinator");
builder.AddCoordinatorServices();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();

app.MapSegHealthEndpoints();
app.MapOpenApi();
app.MapSweepsApi();
app.MapImagesApi();
app.MapWorkersApi();

app.Run();
