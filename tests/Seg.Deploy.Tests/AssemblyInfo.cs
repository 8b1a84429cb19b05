// The deployment tests share one published build and one set of tools, start real coordinator and worker processes
// on the shared services, and run helm and docker-compose: one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
