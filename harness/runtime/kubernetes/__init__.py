"""The Kubernetes runtime: one runtime, several cluster providers, like kind's pkg/ (providers over a shared core).

    common      commands, paths, the harness's kubeconfig
    manifests   a stack's manifests: loading, offline schema validation, images
    objects     QoS, readiness, rollouts, evictions (the check helpers harness.checks re-exports)
    kubelet     the workers' memory budget
    cluster     the cluster's shape, what a scenario needs of it, and whether one meets the other
    api         Kube: the harness's API handle on one instance's namespace
    images      images built from breakfix's base, loaded into the nodes
    providers   kind, offline (host processes), existing (the user's cluster)
    runtime     KubernetesRuntime, what the lifecycle drives

Nothing heavy loads with this package: the kubernetes client is imported where it is used.
`python -m harness.runtime.kubernetes create|delete|status` manages the shared cluster by hand.
"""
