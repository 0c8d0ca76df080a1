//! Installing a missing package: import name → distribution name, strict name checks, argv only.

use std::path::Path;

/// Import names whose distribution is called something else.
const PY_DISTRIBUTIONS: &[(&str, &str)] = &[
    ("cv2", "opencv-python"),
    ("yaml", "PyYAML"),
    ("PIL", "pillow"),
    ("sklearn", "scikit-learn"),
    ("skimage", "scikit-image"),
    ("bs4", "beautifulsoup4"),
    ("dotenv", "python-dotenv"),
    ("jwt", "PyJWT"),
    ("magic", "python-magic"),
    ("Crypto", "pycryptodome"),
    ("google.protobuf", "protobuf"),
    ("dateutil", "python-dateutil"),
    ("serial", "pyserial"),
    ("usb", "pyusb"),
    ("OpenGL", "PyOpenGL"),
    ("fitz", "PyMuPDF"),
    ("docx", "python-docx"),
    ("multipart", "python-multipart"),
    ("psycopg2", "psycopg2-binary"),
    ("MySQLdb", "mysqlclient"),
    ("attr", "attrs"),
    ("websocket", "websocket-client"),
    ("win32api", "pywin32"),
    ("zmq", "pyzmq"),
    ("Levenshtein", "python-Levenshtein"),
    ("huggingface_hub", "huggingface-hub"),
    ("distutils", "setuptools"),
    ("pkg_resources", "setuptools"),
    ("rest_framework", "djangorestframework"),
    ("corsheaders", "django-cors-headers"),
    ("llama_cpp", "llama-cpp-python"),
    ("whisper", "openai-whisper"),
    ("faiss", "faiss-cpu"),
    ("jose", "python-jose"),
    ("telegram", "python-telegram-bot"),
    ("discord", "discord.py"),
    ("speech_recognition", "SpeechRecognition"),
    ("socks", "PySocks"),
    ("gi", "PyGObject"),
    ("Xlib", "python-xlib"),
    ("ldap", "python-ldap"),
];

/// The pip distribution for an import name (`cv2` → `opencv-python`; `torch.cuda` → `torch`).
pub fn python_distribution(module: &str) -> String {
    if let Some((_, d)) = PY_DISTRIBUTIONS.iter().find(|(m, _)| *m == module) {
        return (*d).to_string();
    }
    let top = module.split('.').next().unwrap_or(module);
    // Google's namespace packages are named after the whole path (`google.cloud.storage` →
    // `google-cloud-storage`); `google` alone is somebody else's package.
    if top == "google" && module.contains('.') {
        return module.replace(['.', '_'], "-");
    }
    PY_DISTRIBUTIONS
        .iter()
        .find(|(m, _)| *m == top)
        .map_or_else(|| top.replace('_', "-"), |(_, d)| (*d).to_string())
}

/// A PEP 508 distribution name (no versions, URLs, options or paths).
pub fn valid_python_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 100
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// An npm package name (`express`, `@scope/name`), lower case, no paths, URLs or options.
pub fn valid_npm_name(name: &str) -> bool {
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 214
            && !p.starts_with(['.', '_', '-'])
            && p.bytes().all(|c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || matches!(c, b'-' | b'.' | b'_' | b'~')
            })
    };
    match name.strip_prefix('@') {
        Some(scoped) => {
            matches!(scoped.split_once('/'), Some((scope, pkg)) if part_ok(scope) && part_ok(pkg) && !pkg.contains('/'))
        }
        None => part_ok(name),
    }
}

/// The npm package of a module specifier (`lodash/fp` → `lodash`, `@scope/x/y` → `@scope/x`).
pub fn npm_package(module: &str) -> String {
    let mut parts = module.split('/');
    match parts.next() {
        Some(scope) if scope.starts_with('@') => format!("{scope}/{}", parts.next().unwrap_or("")),
        Some(first) => first.to_string(),
        None => String::new(),
    }
}

/// A pip install as argv for an interpreter.
pub fn pip_install(python: &Path, distribution: &str) -> Option<Vec<String>> {
    valid_python_name(distribution).then(|| {
        vec![
            python.to_string_lossy().to_string(),
            "-m".into(),
            "pip".into(),
            "install".into(),
            "--".into(),
            distribution.to_string(),
        ]
    })
}

/// An npm install as argv (`npm install` when `package` is None: install what package.json lists).
pub fn npm_install(package: Option<&str>) -> Option<Vec<String>> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    match package {
        None => Some(vec![npm.into(), "install".into()]),
        Some(p) if valid_npm_name(p) => Some(vec![
            npm.into(),
            "install".into(),
            "--".into(),
            p.to_string(),
        ]),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_names_map_to_distributions() {
        assert_eq!(python_distribution("cv2"), "opencv-python");
        assert_eq!(python_distribution("distutils"), "setuptools");
        assert_eq!(python_distribution("rest_framework"), "djangorestframework");
        assert_eq!(python_distribution("google.protobuf"), "protobuf");
        assert_eq!(
            python_distribution("google.cloud.storage"),
            "google-cloud-storage"
        );
        assert_eq!(
            python_distribution("google.generativeai"),
            "google-generativeai"
        );
        assert_eq!(python_distribution("imageio_ffmpeg"), "imageio-ffmpeg");
        assert_eq!(python_distribution("yaml"), "PyYAML");
        assert_eq!(python_distribution("PIL.Image"), "pillow");
        assert_eq!(python_distribution("sklearn"), "scikit-learn");
        assert_eq!(python_distribution("torch.cuda"), "torch");
        assert_eq!(python_distribution("my_pkg"), "my-pkg");
    }

    #[test]
    fn names_are_validated_before_any_install() {
        for bad in [
            "",
            "-e",
            "--index-url=http://x",
            "../x",
            "x; rm -rf /",
            "a b",
            "git+https://x",
            "x==1.0",
            "x[extra]",
        ] {
            assert!(!valid_python_name(bad), "{bad}");
            assert!(pip_install(Path::new("python"), bad).is_none(), "{bad}");
        }
        assert!(
            valid_python_name("opencv-python")
                && valid_python_name("PyYAML")
                && valid_python_name("zope.interface")
        );
        for bad in [
            "Express", "-g", "../x", "@scope", "@/x", "a/b", "x y", "http://x",
        ] {
            assert!(!valid_npm_name(bad), "{bad}");
        }
        assert!(
            valid_npm_name("express")
                && valid_npm_name("@vitejs/plugin-vue")
                && valid_npm_name("lodash.merge")
        );
        assert_eq!(npm_package("@fastify/cors/x"), "@fastify/cors");
        assert_eq!(npm_package("lodash/fp"), "lodash");
    }
}
