//! The job files in `deploy/`: the Kubernetes manifests are valid YAML with an Indexed Job
//! whose command mxscan accepts, and the Slurm scripts, run as Slurm would run them (its
//! array variables set, one task after another), scan the sample world in shards and merge it
//! into the plain scan's tables. (scripts/slurm-run.sh runs them under a real Slurm.)

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{WORLD_FLAGS, mxscan, repo_path, sample_sim, sorted_rows};
use clap::Parser;
use yaml_rust2::{Yaml, YamlLoader};

fn load(rel: &str) -> Vec<Yaml> {
    let text = std::fs::read_to_string(repo_path(rel)).unwrap();
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn of_kind<'a>(docs: &'a [Yaml], kind: &str) -> Vec<&'a Yaml> {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}

fn strings(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .unwrap_or_else(|| panic!("not a list: {y:?}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

#[test]
fn the_kubernetes_manifests_are_an_indexed_job_mxscan_accepts_and_a_merge() {
    let docs = load("deploy/kubernetes/scan.yaml");
    let jobs = of_kind(&docs, "Job");
    assert_eq!(jobs.len(), 1);
    let job = jobs[0];
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let n = spec["completions"].as_i64().expect("completions");
    assert_eq!(spec["parallelism"].as_i64(), Some(n));
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    let container = &pod["containers"][0];
    let env = container["env"].as_vec().expect("env");
    let index = env
        .iter()
        .find(|e| e["name"].as_str() == Some("JOB_COMPLETION_INDEX"))
        .expect("JOB_COMPLETION_INDEX declared");
    assert!(
        index["valueFrom"]["fieldRef"]["fieldPath"]
            .as_str()
            .unwrap()
            .contains("job-completion-index")
    );
    let args = strings(&container["args"]);
    let shard = args.iter().position(|a| a == "--shard").expect("--shard");
    assert_eq!(
        args[shard + 1],
        format!("auto/{n}"),
        "the shard count is the Job's"
    );
    let out = &args[args.iter().position(|a| a == "-o").unwrap() + 1];
    assert!(
        out.contains("$(JOB_COMPLETION_INDEX)"),
        "each shard its own --out"
    );
    // The command line, as the kubelet expands it, is one mxscan accepts.
    let mut argv = vec!["mxscan".to_string()];
    argv.extend(
        args.iter()
            .map(|a| a.replace("$(JOB_COMPLETION_INDEX)", "2")),
    );
    let cli = mxscan::cli::Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{e}"));
    let mxscan::cli::Command::Scan(scan) = cli.command else {
        panic!("not a scan: {argv:?}");
    };
    let shard = scan.shard.expect("a shard");
    let got = shard
        .resolve(0, &|name| {
            (name == "JOB_COMPLETION_INDEX").then(|| "2".to_string())
        })
        .unwrap();
    assert_eq!((got.index, i64::from(got.count)), (3, n));

    // Volumes: results on the claim, resolvers from the ConfigMap the -r file names.
    let volumes = pod["volumes"].as_vec().expect("volumes");
    let volume = |name: &str| {
        volumes
            .iter()
            .find(|v| v["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("volume {name}"))
    };
    let mounts = container["volumeMounts"].as_vec().expect("volumeMounts");
    for m in mounts {
        volume(m["name"].as_str().unwrap());
    }
    let claims = of_kind(&docs, "PersistentVolumeClaim");
    let claim = volume("results")["persistentVolumeClaim"]["claimName"]
        .as_str()
        .unwrap();
    assert_eq!(claims[0]["metadata"]["name"].as_str(), Some(claim));
    let maps = of_kind(&docs, "ConfigMap");
    let map = volume("resolvers")["configMap"]["name"].as_str().unwrap();
    assert_eq!(maps[0]["metadata"]["name"].as_str(), Some(map));
    let resolvers_file = &args[args.iter().position(|a| a == "-r").unwrap() + 1];
    let key = Path::new(resolvers_file)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        maps[0]["data"][key].as_str().is_some(),
        "{key} in the ConfigMap"
    );

    let merge = load("deploy/kubernetes/merge.yaml");
    let merge = of_kind(&merge, "Job")[0];
    let container = &merge["spec"]["template"]["spec"]["containers"][0];
    let command = strings(&container["args"]).join(" ");
    assert!(command.contains("mxscan merge") && command.contains("/results/shard-*"));
    assert_eq!(
        merge["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
            .as_str(),
        Some(claim)
    );
}

/// Runs `script` as Slurm would: bash, the given variables set, in `dir`.
fn run_script(script: &Path, dir: &Path, vars: &[(&str, String)]) {
    let status = Command::new("bash")
        .arg(script)
        .current_dir(dir)
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
        .unwrap();
    assert!(status.success(), "{} failed", script.display());
}

#[test]
fn the_slurm_scripts_scan_in_shards_and_merge_into_the_plain_scan() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, resolvers) = sample_sim(&["", ""]);
    let domains = repo_path("data/domains.txt");
    let flags = [WORLD_FLAGS.as_slice(), &["--no-report"]]
        .concat()
        .join(" ");
    let results: PathBuf = dir.path().join("results");
    let common = vec![
        ("MXSCAN", env!("CARGO_BIN_EXE_mxscan").to_string()),
        ("INPUT", domains.display().to_string()),
        ("RESULTS", results.display().to_string()),
        ("RESOLVERS", resolvers.clone()),
        ("MXSCAN_FLAGS", flags.clone()),
    ];
    std::fs::create_dir_all(&results).unwrap();
    // The plain scan, and beside it the array 1-3 (its tasks at once, as a cluster runs
    // them); then the merge.
    let plain = dir.path().join("plain");
    let plain_scan = {
        let mut args: Vec<String> = ["scan", "-r", &resolvers, "-o", plain.to_str().unwrap()]
            .map(String::from)
            .to_vec();
        args.extend(WORLD_FLAGS.map(String::from));
        args.extend(["--no-report".into(), domains.display().to_string()]);
        std::thread::spawn(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, _, err) = mxscan(&args, b"");
            assert_eq!(code, 0, "{err}");
        })
    };
    let tasks: Vec<_> = (1..=3)
        .map(|task| {
            let mut vars = common.clone();
            vars.extend([
                ("SLURM_ARRAY_TASK_ID", task.to_string()),
                ("SLURM_ARRAY_TASK_MIN", "1".to_string()),
                ("SLURM_ARRAY_TASK_MAX", "3".to_string()),
                ("SLURM_ARRAY_TASK_COUNT", "3".to_string()),
            ]);
            let results = results.clone();
            std::thread::spawn(move || {
                run_script(
                    &repo_path("deploy/slurm/scan-array.sbatch"),
                    &results,
                    &vars,
                )
            })
        })
        .collect();
    for t in tasks {
        t.join().unwrap();
    }
    run_script(&repo_path("deploy/slurm/merge.sbatch"), &results, &common);
    plain_scan.join().unwrap();
    handle.stop().unwrap();
    let merged = results.join("merged");
    for table in ["domains", "records", "findings", "senders", "rejects"] {
        let name = format!("{table}.csv");
        assert_eq!(
            sorted_rows(&merged.join(&name)),
            sorted_rows(&plain.join(&name)),
            "{name}"
        );
    }
    // Every shard used: each holds about a third of the 351 domains.
    for task in 1..=3 {
        let s = crate::common::summary(&results.join(format!("shard-{task}")));
        let d = s["domains_scanned"].as_u64().unwrap();
        assert!((80..=160).contains(&d), "shard {task}: {d} domains");
    }
}
