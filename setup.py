"""Installs rigl_rl: sparse training for deep reinforcement learning."""
import setuptools

setuptools.setup(
    name='rigl_rl',
    version='0.1.0',
    description='Sparse training (pruning, static, SET, RigL) for TF-Agents DQN, SAC and PPO.',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    license_files=['LICENSE'],
    packages=setuptools.find_packages(include=['rigl_rl', 'rigl_rl.*']),
    # The experiments, found by name (rigl_rl/experiments.py): rigl_rl/gin
    # is the repository's gin/ (a link in the checkout, files in the wheel).
    package_data={'rigl_rl': ['gin/*/*.gin', 'gin/*/common/*.gin']},
    entry_points={'console_scripts': [
        f'rigl-{name} = rigl_rl.bin:rigl_{name}'
        for name in ('train', 'evaluate', 'sweep', 'report', 'export')]},
    # Verified by installing: 3.11 is the stack's (DESIGN section 2). 3.12
    # does not install: tf-agents 0.18 pins pygame 2.1.3, which has no
    # 3.12 wheel and does not build without SDL2.
    python_requires='>=3.11,<3.12',
    # The set in ../shared/DESIGN.md section 2, verified to resolve and import together.
    install_requires=[
        'tensorflow>=2.21,<2.22',
        'tf-keras>=2.21,<2.22',
        'tf-agents>=0.18,<0.19',
        'tensorflow-probability>=0.22.1,<0.23',
        'tensorflow-model-optimization>=0.8.1,<0.9',
        'gin-config>=0.5,<0.6',
        'absl-py>=1.4',
        'gymnasium[mujoco]>=1.0,<2',
        'mujoco>=4.0',  # MjLogConfig: its warnings stay out of the cwd.
        # Atari through ALE v5 (ROMs ship in the wheel); AtariPreprocessing
        # resizes with OpenCV.
        'ale-py>=0.10,<0.13',
        'opencv-python>=4.8',
        'minatar>=1.0.15,<2',
        # Only its frame-storing replay memory (DESIGN section 2).
        'dopamine-rl>=4.1.2,<5',
        'matplotlib>=3.8',  # bin/evaluate's plot.
        'tensorboard>=2.21,<2.22',
        'numpy>=1.26',
    ],
    extras_require={
        # bin/sweep: a local Ray, or a cluster through ray:// (the client).
        'sweep': ['ray[client]>=2.60,<3', 'pyyaml>=6'],
        # bin/report: rliable's IQM and stratified bootstrap. rliable 1.2
        # passes random_state to arch, which arch 8 rejects, and arch 7 calls
        # a pandas helper whose signature pandas 3 changed.
        'report': ['rliable>=1.2,<1.3', 'arch>=7,<8', 'pandas>=2.2,<3',
                   'matplotlib>=3.8'],
        # bin/evaluate --video_episodes: gymnasium's RecordVideo writes MP4s
        # with moviepy.
        'video': ['moviepy>=2,<3'],
        # bin/export: runs the TFLite model (TensorFlow 2.21 deprecates
        # tf.lite.Interpreter for LiteRT); 2.3.0 verified.
        'export': ['ai-edge-litert>=2.3,<3'],
        # Runner.extra_hooks = [@Tracking()]: mirrors TensorBoard scalars.
        'mlflow': ['mlflow-skinny>=2.10'],
        'wandb': ['wandb>=0.16'],
        # The CUDA libraries TensorFlow needs to see an NVIDIA GPU.
        'gpu': ['tensorflow[and-cuda]>=2.21,<2.22'],
        # pytest-xdist: the suite runs on every core (most of its time is
        # single-threaded tracing and process start-up).
        'test': ['pytest>=8', 'pytest-xdist>=3.5',
                 'rigl_rl[sweep,report,video,mlflow,wandb,export]'],
    },
)
