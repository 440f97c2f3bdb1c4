"""Packaging for vae_celeba: every setting is read from `settings.ini` (nbdev's single source).

Written for current setuptools: no `pkg_resources`, no `setup.cfg`.
"""
from configparser import ConfigParser
from pathlib import Path

import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read(Path(__file__).parent/'settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

for key in 'lib_name user version description author author_email license min_python'.split():
    if key not in cfg: raise KeyError(f"settings.ini lacks the key {key!r}")

licenses = dict(apache2='Apache-2.0') # SPDX identifiers
min_python = cfg['min_python']
py_versions = ['3.10', '3.11', '3.12', '3.13']
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']

requirements = cfg.get('requirements', '').split()
dev_requirements = cfg.get('dev_requirements', '').split()
metrics_requirements = cfg.get('metrics_requirements', '').split()
scripts = [s.strip() for s in cfg.get('console_scripts', '').split() if s.strip()]

setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    description=cfg['description'],
    long_description=(Path(__file__).parent/'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    author=cfg['author'],
    author_email=cfg['author_email'],
    url=cfg['git_url'].replace('%(user)s', cfg['user']).replace('%(repo)s', cfg['repo']),
    license=licenses[cfg['license']],
    classifiers=[
        'Development Status :: ' + statuses[int(cfg['status'])],
        'Intended Audience :: ' + cfg['audience'].title(),
        'Natural Language :: ' + cfg['language'].title(),
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ] + ['Programming Language :: Python :: ' + v for v in py_versions[py_versions.index(min_python):]],
    keywords=cfg['keywords'],
    packages=setuptools.find_packages(include=[cfg['lib_path'], cfg['lib_path'] + '.*']),
    include_package_data=True,
    install_requires=requirements,
    extras_require={'dev': dev_requirements, 'metrics': metrics_requirements},
    zip_safe=False,
    entry_points={
        'console_scripts': scripts,
        'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"],
    },
)
