use kube::CustomResourceExt;

fn main() {
    let crds = vec![
        k8s_crds_cloud_native_pg::clusters::Cluster::crd(),
        k8s_crds_cloud_native_pg::databases::Database::crd(),
    ];
    println!("{}", serde_json::to_string_pretty(&crds).unwrap());
}
