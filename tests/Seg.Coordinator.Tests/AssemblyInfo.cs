// The coordinators of all test classes consume the workers' events from the same RabbitMQ queues (the endpoint
// names are fixed), so two hosts at once would take each other's events. One class at a time also suits 2 cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
